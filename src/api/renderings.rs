//! The alternative renderings of an answer as operations of their own — ORCA
//! `PublicInsurance_Information` as JSON (`…/orca`) or xmlio2 XML (`…/orca-xml`), HL7 FHIR
//! (`…/fhir`) — for each way to get an answer: a new check, a check-in by 照会番号, an earlier
//! check by its id. Each answers one shape only, so a generated client types it; the check, its
//! audit record and its kept answer are the base operation's.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::HashMap;

use super::AppState;
use super::dto::SubsidyCheckRequest;
use super::lookups::ReferenceLookup;
use super::negotiate::Rendering;
use super::params::{FhirBundle, FhirOperationOutcome, OrcaJson};
use super::problem::Problem;
use crate::auth::Caller;

macro_rules! new_check {
    ($name:ident, $rendering:expr, $path:literal, $id:literal, $summary:literal, $ct:literal, $ok:ty, $unavailable:ty) => {
        #[doc = $summary]
        #[utoipa::path(
            post,
            tag = "subsidy-checks",
            operation_id = $id,
            path = $path,
            request_body(content = SubsidyCheckRequest, content_type = "application/json"),
            responses(
                (status = 200, description = "`confirmed` or `none_found`", body = $ok, content_type = $ct),
                (status = 400, description = "Invalid input, or a My Number was sent", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Well-formed, but the parts do not fit together (the birthdate is after the service date)", body = Problem, content_type = "application/problem+json"),
                (status = 503, description = "`unavailable`: the upstream failed and nothing usable is cached", body = $unavailable, content_type = $ct),
            )
        )]
        pub(super) async fn $name(
            State(st): State<AppState>,
            Extension(caller): Extension<Caller>,
            Query(query): Query<HashMap<String, String>>,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Response {
            super::checks::create_subsidy_check_as(
                st,
                caller,
                query,
                headers,
                body,
                Some($rendering),
            )
            .await
        }
    };
}

macro_rules! by_reference {
    ($name:ident, $rendering:expr, $path:literal, $id:literal, $summary:literal, $ct:literal, $ok:ty, $unavailable:ty) => {
        #[doc = $summary]
        #[utoipa::path(
            post,
            tag = "check-ins",
            operation_id = $id,
            path = $path,
            request_body(content = ReferenceLookup, content_type = "application/json"),
            responses(
                (status = 200, description = "`confirmed` or `none_found`", body = $ok, content_type = $ct),
                (status = 400, description = "A bad body, `reference`, `claim` or `care`", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No check-in with this 照会番号 in the last 36 hours", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
                (status = 503, description = "`unavailable`", body = $unavailable, content_type = $ct),
            )
        )]
        pub(super) async fn $name(
            State(st): State<AppState>,
            Extension(caller): Extension<Caller>,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Response {
            super::lookups::by_reference_as(st, caller, headers, body, Some($rendering)).await
        }
    };
}

macro_rules! earlier {
    ($name:ident, $rendering:expr, $path:literal, $id:literal, $summary:literal, $ct:literal, $ok:ty, $unavailable:ty) => {
        #[doc = $summary]
        #[utoipa::path(
            get,
            tag = "subsidy-checks",
            operation_id = $id,
            path = $path,
            params(("check_id" = String, Path, description = "The `check_id` of an earlier answer (a UUID, hyphenated)", pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")),
            responses(
                (status = 200, description = "The earlier answer, as it was given", body = $ok, content_type = $ct),
                (status = 400, description = "A `check_id` that is not a UUID", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No kept answer with this check id (never given, or past its retention)", body = Problem, content_type = "application/problem+json"),
                (status = 503, description = "The earlier answer was `unavailable`", body = $unavailable, content_type = $ct),
            )
        )]
        pub(super) async fn $name(
            State(st): State<AppState>,
            Extension(caller): Extension<Caller>,
            Path(check_id): Path<String>,
            Query(query): Query<HashMap<String, String>>,
            headers: HeaderMap,
        ) -> Response {
            super::checks::earlier_check_as(
                st,
                caller,
                check_id,
                query,
                headers,
                Some($rendering),
            )
            .await
        }
    };
}

new_check!(
    create_orca,
    Rendering::Orca,
    "/v1/subsidy-checks/orca",
    "create_subsidy_check_as_orca",
    "Ask which subsidies apply, answered as ORCA `PublicInsurance_Information` (JSON).",
    "application/json",
    OrcaJson,
    OrcaJson
);
new_check!(
    create_orca_xml,
    Rendering::OrcaXml,
    "/v1/subsidy-checks/orca-xml",
    "create_subsidy_check_as_orca_xml",
    "Ask which subsidies apply, answered as ORCA `PublicInsurance_Information` (xmlio2 XML).",
    "application/xml",
    String,
    String
);
new_check!(
    create_fhir,
    Rendering::Fhir,
    "/v1/subsidy-checks/fhir",
    "create_subsidy_check_as_fhir",
    "Ask which subsidies apply, answered as HL7 FHIR JP Core `Coverage` resources in a Bundle.",
    "application/fhir+json",
    FhirBundle,
    FhirOperationOutcome
);

by_reference!(
    reference_orca,
    Rendering::Orca,
    "/v1/subsidy-checks/by-reference/orca",
    "find_check_in_answer_as_orca",
    "A checked-in patient's answer by 照会番号, as ORCA `PublicInsurance_Information` (JSON).",
    "application/json",
    OrcaJson,
    OrcaJson
);
by_reference!(
    reference_orca_xml,
    Rendering::OrcaXml,
    "/v1/subsidy-checks/by-reference/orca-xml",
    "find_check_in_answer_as_orca_xml",
    "A checked-in patient's answer by 照会番号, as ORCA `PublicInsurance_Information` (xmlio2 XML).",
    "application/xml",
    String,
    String
);
by_reference!(
    reference_fhir,
    Rendering::Fhir,
    "/v1/subsidy-checks/by-reference/fhir",
    "find_check_in_answer_as_fhir",
    "A checked-in patient's answer by 照会番号, as HL7 FHIR JP Core `Coverage` resources.",
    "application/fhir+json",
    FhirBundle,
    FhirOperationOutcome
);

earlier!(
    earlier_orca,
    Rendering::Orca,
    "/v1/subsidy-checks/{check_id}/orca",
    "get_earlier_subsidy_check_as_orca",
    "An earlier answer by its check id, as ORCA `PublicInsurance_Information` (JSON).",
    "application/json",
    OrcaJson,
    OrcaJson
);
earlier!(
    earlier_orca_xml,
    Rendering::OrcaXml,
    "/v1/subsidy-checks/{check_id}/orca-xml",
    "get_earlier_subsidy_check_as_orca_xml",
    "An earlier answer by its check id, as ORCA `PublicInsurance_Information` (xmlio2 XML).",
    "application/xml",
    String,
    String
);
earlier!(
    earlier_fhir,
    Rendering::Fhir,
    "/v1/subsidy-checks/{check_id}/fhir",
    "get_earlier_subsidy_check_as_fhir",
    "An earlier answer by its check id, as HL7 FHIR JP Core `Coverage` resources.",
    "application/fhir+json",
    FhirBundle,
    FhirOperationOutcome
);
