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

/// Every kind of problem the gateway answers with. Its `type` URI (`/problems/<slug>`) resolves
/// to a page the gateway serves (`GET /problems/{slug}`) saying what it means and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    InvalidRequest,
    MyNumberRejected,
    UnsupportedMediaType,
    PayloadTooLarge,
    Unauthenticated,
    Forbidden,
    TooManyFailures,
    HostNotAllowed,
    AuditUnavailable,
    TooManyConnections,
    MastersRejected,
    Internal,
    RequestTimeout,
    InconsistentRequest,
    CannotCompute,
    Conflict,
    NotFound,
    UnreadableResult,
    UnreadableFile,
    ReceiptChecksBusy,
}

impl ProblemKind {
    pub const ALL: [Self; 20] = [
        Self::InvalidRequest,
        Self::MyNumberRejected,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::TooManyFailures,
        Self::HostNotAllowed,
        Self::AuditUnavailable,
        Self::TooManyConnections,
        Self::MastersRejected,
        Self::Internal,
        Self::RequestTimeout,
        Self::InconsistentRequest,
        Self::CannotCompute,
        Self::Conflict,
        Self::NotFound,
        Self::UnreadableResult,
        Self::UnreadableFile,
        Self::ReceiptChecksBusy,
    ];

    /// The problem's `type`: a path on this gateway.
    pub const fn uri(self) -> &'static str {
        match self {
            Self::InvalidRequest => "/problems/invalid-request",
            Self::MyNumberRejected => "/problems/my-number-rejected",
            Self::UnsupportedMediaType => "/problems/unsupported-media-type",
            Self::PayloadTooLarge => "/problems/payload-too-large",
            Self::Unauthenticated => "/problems/unauthenticated",
            Self::Forbidden => "/problems/forbidden",
            Self::TooManyFailures => "/problems/too-many-failures",
            Self::HostNotAllowed => "/problems/host-not-allowed",
            Self::AuditUnavailable => "/problems/audit-unavailable",
            Self::TooManyConnections => "/problems/too-many-connections",
            Self::MastersRejected => "/problems/masters-rejected",
            Self::Internal => "/problems/internal",
            Self::RequestTimeout => "/problems/request-timeout",
            Self::InconsistentRequest => "/problems/inconsistent-request",
            Self::CannotCompute => "/problems/cannot-compute",
            Self::Conflict => "/problems/conflict",
            Self::NotFound => "/problems/not-found",
            Self::UnreadableResult => "/problems/unreadable-result",
            Self::UnreadableFile => "/problems/unreadable-file",
            Self::ReceiptChecksBusy => "/problems/receipt-checks-busy",
        }
    }

    /// The kind whose `type` ends in `slug`.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.uri().strip_prefix("/problems/") == Some(slug))
    }

    /// The HTTP status it is answered with.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidRequest | Self::MyNumberRejected => 400,
            Self::Unauthenticated | Self::TooManyFailures => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::HostNotAllowed => 421,
            Self::MastersRejected
            | Self::InconsistentRequest
            | Self::CannotCompute
            | Self::UnreadableResult
            | Self::UnreadableFile => 422,
            Self::Internal => 500,
            Self::AuditUnavailable
            | Self::TooManyConnections
            | Self::RequestTimeout
            | Self::ReceiptChecksBusy => 503,
        }
    }

    /// What it means and what the caller does about it: Japanese, then English.
    pub const fn explanation(self) -> (&'static str, &'static str) {
        match self {
            Self::InvalidRequest => (
                "要求の項目に誤りがあります。`errors` の各項目（field と reason）を直して送り直してください。",
                "A field of the request is malformed. Every field in error is listed in `errors` (field, reason); correct them and send again.",
            ),
            Self::MyNumberRejected => (
                "個人番号（マイナンバー）は受け付けません。保険者番号・記号・番号・枝番・生年月日で患者を指定してください。",
                "A My Number (個人番号) is never accepted, stored or logged. Identify the patient by the insurance identity.",
            ),
            Self::UnsupportedMediaType => (
                "本文の形式が違います。application/json（オン資の結果は application/xml）で送ってください。",
                "The body's content type is not one this operation takes: application/json (an オン資 result: application/xml).",
            ),
            Self::PayloadTooLarge => (
                "本文が大きすぎます（上限は detail を参照）。",
                "The body exceeds the gateway's limit (see `detail`).",
            ),
            Self::Unauthenticated => (
                "認証情報がないか、どのクライアントにも当たりません。Authorization: Bearer <トークン> を付けるか、TLS のクライアント証明書を使ってください。",
                "No credential, or one that names no client: send `Authorization: Bearer <token>` or a client certificate over TLS.",
            ),
            Self::Forbidden => (
                "このクライアントには、この操作の権限（scope）がありません。管理者に権限の追加を依頼してください。",
                "The client is known but lacks the scope this operation needs (named in `detail`).",
            ),
            Self::TooManyFailures => (
                "この接続元から誤った認証情報が続いたため、一時的に拒否しています。Retry-After 秒後に送り直してください。正しい認証情報は拒否されません。",
                "This wrong credential failed too often from this address; wait `Retry-After` seconds. A valid credential is never refused.",
            ),
            Self::HostNotAllowed => (
                "このゲートウェイが応答しない Host 名です（server.allowed_hosts）。設定されたアドレスで接続してください。",
                "The `Host` is not one this gateway answers to (server.allowed_hosts).",
            ),
            Self::AuditUnavailable => (
                "アクセスを監査記録に残せないため、回答を控えています。Retry-After 秒後に送り直してください。",
                "The access could not be recorded in the audit, so the answer is withheld; try again after `Retry-After`.",
            ),
            Self::TooManyConnections => (
                "接続数が上限に達しています。少し待って送り直してください。",
                "The gateway is at its connection limit; try again shortly.",
            ),
            Self::MastersRejected => (
                "マスタファイルに誤りがあり読み込みませんでした。errors の「ファイル:行」を直してください。前のマスタで動作を続けています。",
                "The master files were rejected (each `file:line` in `errors`); the previous tables keep serving.",
            ),
            Self::Internal => (
                "ゲートウェイ内部の不具合です。時間をおいて送り直し、続く場合はログを添えて連絡してください。",
                "A fault of the gateway's own; try again, and report it with the gateway's log if it persists.",
            ),
            Self::RequestTimeout => (
                "要求が時間内に完了しませんでした（server.request_timeout_ms）。送り直してください。",
                "The request was not complete and answered in time (server.request_timeout_ms); try again.",
            ),
            Self::InconsistentRequest => (
                "各項目は正しい形式ですが、組み合わせが合いません（errors を参照）。番号の検証番号（チェックデジット）が他の桁と合わない場合もこれに当たります。",
                "Every field matches the OpenAPI document, but they do not fit together (see `errors`) — including a number whose check digit does not fit its other digits, a rule no schema pattern states.",
            ),
            Self::CannotCompute => (
                "この要求からは窓口負担を計算できません（理由は detail）。",
                "The charge cannot be computed from this request (why: `detail`).",
            ),
            Self::Conflict => (
                "記録されている状態と要求が食い違っています（detail を参照）。",
                "The request conflicts with what is recorded (see `detail`).",
            ),
            Self::NotFound => (
                "該当するものがありません（保存期間を過ぎたものを含む）。",
                "Nothing of that name or id (or it is past its retention).",
            ),
            Self::UnreadableResult => (
                "本文をオン資の資格確認結果として読めません（errors を参照）。端末が出力した結果ファイル（1人分）をそのまま送ってください。",
                "The body is not an オン資 qualification result the gateway can read (see `errors`): post the terminal's result file for one person as it is.",
            ),
            Self::UnreadableFile => (
                "ファイルからレセプトを1件も読めません（errors に行番号ごとの問題）。レセコンが出力したUKEファイルをそのまま送ってください。",
                "No receipt could be read from the file (each line's problem in `errors`, by line number): post the UKE file as the receipt computer wrote it.",
            ),
            Self::ReceiptChecksBusy => (
                "このゲートウェイでは月次点検が同時に実行できる数に達しています。Retry-After 秒後に送り直してください。",
                "This replica runs as many receipt checks as it takes at once; try again after `Retry-After`.",
            ),
        }
    }
}

const INVALID: &str = ProblemKind::InvalidRequest.uri();
const MY_NUMBER: &str = ProblemKind::MyNumberRejected.uri();
const MEDIA_TYPE: &str = ProblemKind::UnsupportedMediaType.uri();
const TOO_LARGE: &str = ProblemKind::PayloadTooLarge.uri();
pub const UNAUTHENTICATED: &str = ProblemKind::Unauthenticated.uri();
pub const FORBIDDEN: &str = ProblemKind::Forbidden.uri();
pub const TOO_MANY_FAILURES: &str = ProblemKind::TooManyFailures.uri();
pub const HOST_NOT_ALLOWED: &str = ProblemKind::HostNotAllowed.uri();
pub const AUDIT_UNAVAILABLE: &str = ProblemKind::AuditUnavailable.uri();

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
            kind: ProblemKind::TooManyConnections.uri(),
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

    /// A body of another type than the one operation takes.
    pub fn unsupported_media_type_for(wanted: &str, found: &str) -> Self {
        Self {
            kind: MEDIA_TYPE,
            title: "Unsupported content type",
            status: 415,
            detail: format!("send the body as {wanted} (got {found:?})"),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// No receipt could be read from a UKE file: every line's problem.
    pub fn unreadable_file(errors: Vec<FieldError>) -> Self {
        Self {
            kind: ProblemKind::UnreadableFile.uri(),
            title: "No receipt could be read from the file",
            status: 422,
            detail: if errors.is_empty() {
                "the file holds no RE record".into()
            } else {
                summary(&errors)
            },
            errors,
            retry_after: None,
        }
    }

    /// The replica runs as many receipt checks as it takes.
    pub fn receipt_checks_busy() -> Self {
        Self {
            kind: ProblemKind::ReceiptChecksBusy.uri(),
            title: "Receipt checks are busy",
            status: 503,
            detail: crate::receipts::StartError::Busy.to_string(),
            errors: Vec::new(),
            retry_after: Some(30),
        }
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
            kind: ProblemKind::MastersRejected.uri(),
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
            kind: ProblemKind::Internal.uri(),
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

    /// A wrong credential that failed too often from this address: still 401 (it is a wrong
    /// credential; a client that retries it learns nothing new), with `Retry-After` saying
    /// for how long this pair is not even looked up.
    pub fn too_many_failures(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs().max(1);
        Self {
            kind: TOO_MANY_FAILURES,
            title: "Too many failed attempts",
            status: 401,
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
            kind: ProblemKind::RequestTimeout.uri(),
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
            kind: ProblemKind::InconsistentRequest.uri(),
            title: "The parts of the request do not fit together",
            status: 422,
            detail: summary(&errors),
            errors,
            retry_after: None,
        }
    }

    /// The request is well-formed but the charge cannot be computed from it (why: in `detail`).
    /// An オン資 result posted as XML that cannot be read as one person's result (422: the
    /// document describes the XML body as text, so nothing about its content is a 400).
    pub fn unreadable_result(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let errors = vec![FieldError {
            field: field.into(),
            reason: reason.into(),
        }];
        Self {
            kind: ProblemKind::UnreadableResult.uri(),
            title: "The body is not a readable オン資 result",
            status: 422,
            detail: summary(&errors),
            errors,
            retry_after: None,
        }
    }

    pub fn cannot_compute(detail: impl Into<String>) -> Self {
        Self {
            kind: ProblemKind::CannotCompute.uri(),
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
            kind: ProblemKind::Conflict.uri(),
            title: "The request conflicts with what is recorded",
            status: 409,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self {
            kind: ProblemKind::NotFound.uri(),
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
