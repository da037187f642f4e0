//! RFC 9457 problem details: the only place errors become HTTP responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// One reason an input field was rejected.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `insured.insurer_number`.
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the problem kind, e.g. `/problems/invalid-request`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds for a `Retry-After` header, when trying again later can help.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

const INVALID: &str = "/problems/invalid-request";
const MY_NUMBER: &str = "/problems/my-number-rejected";
const MEDIA_TYPE: &str = "/problems/unsupported-media-type";
const TOO_LARGE: &str = "/problems/payload-too-large";
pub const UNAUTHENTICATED: &str = "/problems/unauthenticated";
pub const FORBIDDEN: &str = "/problems/forbidden";
pub const TOO_MANY_FAILURES: &str = "/problems/too-many-failures";
pub const HOST_NOT_ALLOWED: &str = "/problems/host-not-allowed";
pub const AUDIT_UNAVAILABLE: &str = "/problems/audit-unavailable";

impl Problem {
    /// The `reason` label under which a refused request is counted in the metrics.
    pub fn metric_reason(&self) -> &'static str {
        match self.kind {
            MY_NUMBER => "my_number",
            MEDIA_TYPE => "media_type",
            TOO_LARGE => "too_large",
            _ => "invalid",
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self {
            kind: INVALID,
            title: "The request is invalid",
            status: 400,
            detail: summary(&errors),
            errors,
            retry_after: None,
        }
    }

    pub fn invalid_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError {
            field: field.into(),
            reason: reason.into(),
        }])
    }

    pub fn my_number(field: String) -> Self {
        Self {
            kind: MY_NUMBER,
            title: "A My Number (個人番号) must never be sent",
            status: 400,
            detail: "This gateway never accepts, stores or logs a My Number. Identify the patient by the insurance identity (insurer_number, symbol, number, branch, birthdate).".into(),
            errors: vec![FieldError {
                field,
                reason: "My Number fields are refused".into(),
            }],
            retry_after: None,
        }
    }

    pub fn unsupported_media_type(found: &str) -> Self {
        Self {
            kind: MEDIA_TYPE,
            title: "Unsupported content type",
            status: 415,
            detail: format!(
                "send the body as application/json, or an オン資 result as application/xml (got {found:?})"
            ),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// The listener's answer to a connection it cannot take (over its connection limit).
    pub fn too_many_connections() -> Self {
        Self {
            kind: "/problems/too-many-connections",
            title: "Too many open connections",
            status: 503,
            detail: "try again shortly".into(),
            errors: Vec::new(),
            retry_after: Some(1),
        }
    }

    /// This problem as a whole HTTP/1.1 response that closes the connection, for a socket the
    /// HTTP stack never sees (the listener refusing a connection at accept).
    pub fn raw_response(&self) -> Vec<u8> {
        let body = serde_json::to_vec(self).unwrap_or_default();
        let reason = StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/problem+json\r\n",
            self.status
        );
        if let Some(s) = self.retry_after {
            head.push_str(&format!("Retry-After: {s}\r\n"));
        }
        head.push_str(&format!(
            "Connection: close\r\nCache-Control: no-store\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ));
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        out
    }

    pub fn too_large(limit: usize) -> Self {
        Self {
            kind: TOO_LARGE,
            title: "The request body is too large",
            status: 413,
            detail: format!("the body limit is {limit} bytes"),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn masters_rejected(rows: Vec<crate::masters::RowError>) -> Self {
        Self {
            kind: "/problems/masters-rejected",
            title: "The master tables were rejected; the previous snapshot keeps serving",
            status: 422,
            detail: format!("{} problem(s) found", rows.len()),
            errors: rows
                .into_iter()
                .map(|r| FieldError {
                    field: format!("{}:{}", r.file, r.line),
                    reason: r.reason,
                })
                .collect(),
            retry_after: None,
        }
    }

    /// A fault of the gateway's own; the detail says what failed, never with request data.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self {
            kind: "/problems/internal",
            title: "The gateway failed to answer",
            status: 500,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// No credential, or one that names no client.
    pub fn unauthenticated(credential_given: bool) -> Self {
        Self {
            kind: UNAUTHENTICATED,
            title: "Authentication required",
            status: 401,
            detail: if credential_given {
                "the token names no client (it may have been revoked)".into()
            } else {
                "send `Authorization: Bearer <token>` (or a client certificate over TLS)".into()
            },
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// A known client without the scope a route needs.
    pub fn forbidden(client: &str, scope: crate::auth::Scope) -> Self {
        Self {
            kind: FORBIDDEN,
            title: "Not allowed for this client",
            status: 403,
            detail: format!(
                "client {client:?} lacks the scope `{}` this route needs",
                scope.as_str()
            ),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// Too many failed attempts from this address.
    pub fn too_many_failures(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs().max(1);
        Self {
            kind: TOO_MANY_FAILURES,
            title: "Too many failed attempts",
            status: 429,
            detail: format!(
                "this credential failed too often from this address; try again in {secs} s (a valid credential is never refused)"
            ),
            errors: Vec::new(),
            retry_after: Some(secs),
        }
    }

    /// A `Host` the gateway does not answer to.
    pub fn host_not_allowed() -> Self {
        Self {
            kind: HOST_NOT_ALLOWED,
            title: "Host not allowed",
            status: 421,
            detail: "this gateway does not answer to that Host name (server.allowed_hosts)".into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// The access could not be recorded in the audit: the answer is withheld.
    pub fn audit_unavailable() -> Self {
        Self {
            kind: AUDIT_UNAVAILABLE,
            title: "The access could not be recorded",
            status: 503,
            detail:
                "the audit store did not accept the record, so the answer is withheld; try again"
                    .into(),
            errors: Vec::new(),
            retry_after: Some(5),
        }
    }

    /// The request (its body included) was not answered within `server.request_timeout_ms`.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        Self {
            kind: "/problems/request-timeout",
            title: "The request took too long",
            status: 503,
            detail: format!(
                "the request was not complete and answered within {} ms (server.request_timeout_ms)",
                limit.as_millis()
            ),
            errors: Vec::new(),
            retry_after: Some(1),
        }
    }

    /// Every part is well-formed, but they do not fit together (a cross-field rule no schema can
    /// state): 422.
    pub fn inconsistent(errors: Vec<FieldError>) -> Self {
        Self {
            kind: "/problems/inconsistent-request",
            title: "The parts of the request do not fit together",
            status: 422,
            detail: summary(&errors),
            errors,
            retry_after: None,
        }
    }

    /// The request is well-formed but the charge cannot be computed from it (why: in `detail`).
    pub fn cannot_compute(detail: impl Into<String>) -> Self {
        Self {
            kind: "/problems/cannot-compute",
            title: "The charge cannot be computed from this request",
            status: 422,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// The resource exists in another state than the request assumes: 409.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self {
            kind: "/problems/conflict",
            title: "The request conflicts with what is recorded",
            status: 409,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self {
            kind: "/problems/not-found",
            title: "Not found",
            status: 404,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }
}

/// A charge the engine cannot compute from a well-formed request: 422, with the engine's reason
/// (which names visits and parts by position, never a personal value).
impl From<crate::billing::BillingError> for Problem {
    fn from(e: crate::billing::BillingError) -> Self {
        use crate::billing::BillingError as E;
        match e {
            E::EarlierCheckOffline => Problem::invalid_field("check_id", e.to_string()),
            E::NoKeptAnswer => Problem::not_found(e.to_string()),
            E::Charge(c) => c.into(),
            E::Store { what, source } => {
                tracing::error!(error = %source, "{what}");
                Problem::internal(what.to_owned())
            }
            E::Answer(what) => {
                tracing::error!("{what}");
                Problem::internal(what.to_owned())
            }
            E::EntryIdTaken => Problem::conflict(e.to_string()),
        }
    }
}

impl From<crate::charges::ChargeError> for Problem {
    fn from(e: crate::charges::ChargeError) -> Self {
        Problem::cannot_compute(e.to_string())
    }
}

/// `field: reason; field: reason`, for a problem's `detail`.
fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let retry = self.retry_after;
        let mut r = (status, axum::Json(self)).into_response();
        if let Some(secs) = retry {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        r
    }
}
