//! The query and path parameters' vocabularies as OpenAPI schemas, so that the document states
//! every value the server accepts (the handlers read the parameters themselves; a test keeps the
//! two in step).

use utoipa::ToSchema;

/// `format`: the rendering of an answer (the deprecated way; `negotiate` reads it).
#[derive(Debug, Clone, Copy, ToSchema)]
#[allow(dead_code)] // a schema only: the handlers read the parameter themselves
pub enum FormatParam {
    #[schema(rename = "json")]
    Json,
    #[schema(rename = "orca")]
    Orca,
    #[schema(rename = "orca-xml")]
    OrcaXml,
    #[schema(rename = "fhir")]
    Fhir,
}

/// `format` of the audit: JSON, JSON Lines or CSV.
#[derive(Debug, Clone, Copy, ToSchema)]
#[allow(dead_code)] // a schema only: the handlers read the parameter themselves
pub enum AuditFormatParam {
    #[schema(rename = "json")]
    Json,
    #[schema(rename = "jsonl")]
    Jsonl,
    #[schema(rename = "csv")]
    Csv,
}

/// `operation` of an audit record.
#[derive(Debug, Clone, Copy, ToSchema)]
#[allow(dead_code)] // a schema only: the handlers read the parameter themselves
pub enum OperationParam {
    #[schema(rename = "check")]
    Check,
    #[schema(rename = "check_with_result")]
    CheckWithResult,
    #[schema(rename = "check_by_reference")]
    CheckByReference,
    #[schema(rename = "earlier_check")]
    EarlierCheck,
    #[schema(rename = "prefetch")]
    Prefetch,
    #[schema(rename = "masters_reload")]
    MastersReload,
    #[schema(rename = "audit_search")]
    AuditSearch,
    #[schema(rename = "operations")]
    Operations,
    #[schema(rename = "charge_quote")]
    ChargeQuote,
    #[schema(rename = "charge_commit")]
    ChargeCommit,
    #[schema(rename = "charge_void")]
    ChargeVoid,
    #[schema(rename = "ledger_entry")]
    LedgerEntry,
    #[schema(rename = "ledger_entry_void")]
    LedgerEntryVoid,
    #[schema(rename = "ledger_read")]
    LedgerRead,
    #[schema(rename = "reception_sign_in")]
    ReceptionSignIn,
    #[schema(rename = "reception_sign_out")]
    ReceptionSignOut,
    #[schema(rename = "reception_list")]
    ReceptionList,
    #[schema(rename = "reception_health")]
    ReceptionHealth,
    #[schema(rename = "receipt_check_start")]
    ReceiptCheckStart,
    #[schema(rename = "receipt_precheck")]
    ReceiptPrecheck,
    #[schema(rename = "receipt_check_read")]
    ReceiptCheckRead,
}

/// The ORCA rendering in JSON (`format=orca`): ORCA's `publicinsurance_infores` document.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // a schema only: `orca.rs` writes the document
pub struct OrcaJson {
    /// `Api_Result`, the gateway's `Gateway_*` notes and `PublicInsurance_Information` (one
    /// entry per subsidy, at most four).
    pub publicinsurance_infores: Object,
}

/// The FHIR rendering: a `collection` Bundle of HL7 FHIR JP Core `Coverage` resources (one per
/// subsidy in force, in order) and, when there is something to say, an `OperationOutcome`
/// (nothing found: unknown; a stale answer; certificates not in force on the day). FHIR R4B;
/// no empty arrays.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // a schema only: `fhir.rs` writes the document
pub struct FhirBundle {
    /// `Bundle`.
    #[schema(example = "Bundle")]
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    /// `collection`.
    #[serde(rename = "type")]
    #[schema(example = "collection")]
    pub kind: String,
    /// The check id (`urn:pmh-gateway:check-id`).
    pub identifier: Object,
    /// When the gateway answered (RFC 3339, JST).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Absent when empty. Each `{"resource": Coverage | OperationOutcome}`.
    pub entry: Option<Vec<Object>>,
}

/// An HL7 FHIR `OperationOutcome`: the FHIR rendering of `unavailable` (HTTP 503).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // a schema only: `fhir.rs` writes the document
pub struct FhirOperationOutcome {
    /// `OperationOutcome`.
    #[serde(rename = "resourceType")]
    #[schema(example = "OperationOutcome")]
    pub resource_type: String,
    /// Each `{"severity", "code", "diagnostics"}`.
    pub issue: Vec<Object>,
}

/// A free-form JSON object (documented in prose).
#[derive(Debug, ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code)] // a schema only
pub struct Object(serde_json::Value);

#[cfg(test)]
mod tests {
    use super::super::vocab::schema_names as names;

    #[test]
    fn the_vocabularies_are_the_servers() {
        let ops: Vec<String> = crate::store::Operation::ALL
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect();
        assert_eq!(names::<super::OperationParam>(), ops);
        let formats: Vec<String> = super::super::negotiate::FORMATS
            .split(", ")
            .map(str::to_owned)
            .collect();
        assert_eq!(names::<super::FormatParam>(), formats);
        assert_eq!(names::<super::AuditFormatParam>(), ["json", "jsonl", "csv"]);
    }
}
