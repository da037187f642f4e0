//! Writing an answer in the rendering the caller chose. An answer that cannot be written is a 500
//! problem, never an empty 200.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::dto::{MonthTotalsDto, SubsidyCheckResponse};
use super::json_cache::JsonCache;
use super::labels::advice;
use super::negotiate::Rendering;
use super::problem::Problem;
use super::{fhir, orca};
use crate::service::{CheckIn, CheckOutcome, Status};

/// The answer as a response: 200, or 503 with `Retry-After` for `unavailable` (the body is a full
/// answer either way).
/// `months`: per active subsidy (by position), its shared cap's month from the ledger. A JSON
/// answer without months comes from `cache` when its mapping was written before.
pub fn render(
    cache: &JsonCache,
    outcome: &CheckOutcome,
    rendering: Rendering,
    check_in: Option<&CheckIn>,
    months: &[Option<MonthTotalsDto>],
) -> Response {
    let status = answer_status(outcome);
    let written = match rendering {
        Rendering::Json
            if months.iter().all(Option::is_none)
                && let Some(written) = cache.json(outcome, check_in) =>
        {
            written.map(|b| ("application/json", b))
        }
        Rendering::Json => {
            let mut body = SubsidyCheckResponse::new(outcome);
            body.check_in = check_in.map(Into::into);
            for (s, m) in body.subsidies.iter_mut().zip(months) {
                s.month_to_date = m.clone();
            }
            serde_json::to_vec(&body).map(|b| ("application/json", b))
        }
        Rendering::Orca => serde_json::to_vec(&orca::OrcaAnswer::new(outcome, months).to_json())
            .map(|b| ("application/json", b)),
        Rendering::OrcaXml => Ok((
            "application/xml; charset=utf-8",
            orca::OrcaAnswer::new(outcome, months).to_xml().into_bytes(),
        )),
        Rendering::Fhir => serde_json::to_vec(&fhir::render(outcome, advice(outcome)))
            .map(|b| ("application/fhir+json", b)),
    };
    let mut r = respond(status, written);
    // The answer is also kept under its check id, in this rendering (`GET …/{check_id}…`).
    let suffix = match rendering {
        Rendering::Json => "",
        Rendering::Orca => "/orca",
        Rendering::OrcaXml => "/orca-xml",
        Rendering::Fhir => "/fhir",
    };
    if r.status() != StatusCode::INTERNAL_SERVER_ERROR
        && let Ok(v) =
            HeaderValue::from_str(&format!("/v1/subsidy-checks/{}{suffix}", outcome.check_id))
    {
        r.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    r
}

/// The HTTP status of an answer: 503 for `unavailable`, else 200.
pub fn answer_status(outcome: &CheckOutcome) -> StatusCode {
    if outcome.status == Status::Unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// The response for a written body, or a 500 problem when writing failed.
fn respond(
    status: StatusCode,
    written: Result<(&'static str, Vec<u8>), serde_json::Error>,
) -> Response {
    let (content_type, body) = match written {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "cannot write an answer");
            return Problem::internal("the answer could not be written").into_response();
        }
    };
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::VARY, HeaderValue::from_static("accept"));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_cannot_be_written_is_a_500_problem_not_an_empty_200() {
        // A map with non-string keys cannot be JSON: a real serialisation failure.
        let bad: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let written = serde_json::to_vec(&bad).map(|b| ("application/json", b));
        assert!(written.is_err());
        let r = respond(StatusCode::OK, written);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            super::super::problem::CONTENT_TYPE
        );
    }
}
