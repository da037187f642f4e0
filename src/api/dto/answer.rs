//! The answer to a subsidy check (JSON rendering).

use serde::Serialize;
use utoipa::ToSchema;

use super::subsidy::{BurdenCodeDto, SubsidyDto, WarningDto};
use crate::api::labels::advice_code;
use crate::api::vocab::{AdviceCode, AnswerSource, AnswerStatus, UpstreamProblemKind};
use crate::domain::ServiceDate;
use crate::domain::date::jst_rfc3339;
use crate::service::{CheckIn, CheckOutcome, Origin};

/// The answer to a subsidy check.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubsidyCheckResponse {
    /// Identifies this check (also sent upstream as `arbitraryIdentifier`): a UUID, version 7
    /// (time-ordered).
    pub check_id: String,
    pub status: AnswerStatus,
    /// Absent when unavailable.
    pub source: Option<AnswerSource>,
    #[schema(value_type = String, format = Date, example = "2026-11-21")]
    pub service_date: ServiceDate,
    /// When the gateway answered (RFC 3339, JST).
    #[schema(format = DateTime, example = "2026-11-21T10:00:00.000+09:00")]
    pub checked_at: String,
    /// When the data was obtained from PMH (RFC 3339, JST).
    #[schema(format = DateTime)]
    pub obtained_at: Option<String>,
    pub age_seconds: Option<i64>,
    /// Subsidies valid on the service date, 第1公費 first.
    pub subsidies: Vec<SubsidyDto>,
    /// Certificates PMH returned that do not apply on the service date (expired, not yet
    /// valid, unreadable validity).
    pub inactive_subsidies: Vec<SubsidyDto>,
    /// Warnings about the combination of subsidies.
    pub warnings: Vec<WarningDto>,
    /// レセプト種別 (4 digits) for this visit, when `insurance` was given.
    #[schema(example = "1122")]
    pub receipt_type: Option<String>,
    /// 負担区分 for every combination of this visit's payers: insurance (unless `insurance.kind`
    /// is `none`) and the active subsidies by order, so billed lines can be tagged.
    pub burden_codes: Vec<BurdenCodeDto>,
    /// Where the certificates came from: a PMH query, or the PMH block of an オン資 result.
    pub origin: Option<OriginDto>,
    /// The check-in this answer was prefetched for (answers by 照会番号 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_in: Option<CheckInDto>,
    /// Why the answer is stale or unavailable.
    pub upstream_problem: Option<UpstreamProblemDto>,
    /// What the receipt computer should tell the clerk.
    pub advice: Option<&'static str>,
    /// `advice` as a stable code.
    pub advice_code: Option<AdviceCode>,
    pub masters_version: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OriginDto {
    /// `upstream` (a PMH query) or `onshi_result` (the PMH block of an オン資 result).
    #[schema(value_type = String, example = "onshi_result")]
    pub kind: &'static str,
    /// The result file's name (no folder), when the block came from the terminal's folder.
    pub file_name: Option<String>,
}

/// A check-in at the オン資 terminal: the result file the answer was prefetched from.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInDto {
    /// The result file's name (no folder).
    #[schema(example = "OQSsiquc01res_face_20261121100000000001.xml")]
    pub file_name: String,
    /// When the file was written (its modification time; RFC 3339, JST).
    #[schema(format = DateTime)]
    pub arrived_at: String,
    /// When its answer was in the cache (RFC 3339, JST).
    #[schema(format = DateTime)]
    pub cached_at: String,
    /// The prefetch's answer.
    pub prefetch_status: AnswerStatus,
}

impl From<&CheckIn> for CheckInDto {
    fn from(c: &CheckIn) -> Self {
        Self {
            file_name: c.file_name.clone(),
            arrived_at: jst_rfc3339(c.arrived_at),
            cached_at: jst_rfc3339(c.cached_at),
            prefetch_status: c.status.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamProblemDto {
    pub kind: UpstreamProblemKind,
    pub detail: String,
}

impl SubsidyCheckResponse {
    pub fn new(o: &CheckOutcome) -> Self {
        let version = o.mapped.calc_codes_version.as_str();
        let advice_code = advice_code(o);
        Self {
            check_id: o.check_id.clone(),
            status: o.status.into(),
            source: o.source.map(Into::into),
            service_date: o.service_date,
            checked_at: jst_rfc3339(o.checked_at),
            obtained_at: o.obtained_at.map(jst_rfc3339),
            age_seconds: o.age_seconds(),
            subsidies: o
                .mapped
                .active
                .iter()
                .map(|s| SubsidyDto::new(s, version))
                .collect(),
            inactive_subsidies: o
                .mapped
                .inactive
                .iter()
                .map(|s| SubsidyDto::new(s, version))
                .collect(),
            warnings: o.mapped.warnings.iter().map(WarningDto::from).collect(),
            receipt_type: o.mapped.receipt_type.clone(),
            burden_codes: o.mapped.burden_codes.iter().map(Into::into).collect(),
            origin: o.origin.as_ref().map(|origin| match origin {
                Origin::Upstream => OriginDto {
                    kind: "upstream",
                    file_name: None,
                },
                Origin::OnshiResult { file } => OriginDto {
                    kind: "onshi_result",
                    file_name: file.clone(),
                },
            }),
            check_in: None,
            upstream_problem: o.degradation.as_ref().map(|d| UpstreamProblemDto {
                kind: d.kind_of().into(),
                detail: d.detail(),
            }),
            advice: advice_code.map(AdviceCode::text),
            advice_code,
            masters_version: o.masters_version.clone(),
        }
    }
}
