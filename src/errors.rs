//! Error policy.
//!
//! - Each module owns a `thiserror` enum for what can go wrong inside it (`NumberError`,
//!   `MastersError`, `UpstreamError`, `ConfigError`, …). Variants carry what a person needs to
//!   fix the problem: the field, the file and line, the expected check digit.
//! - No error message carries personal data: never a recipient number, an insured number, a
//!   name or a birthdate (payer numbers are public and may appear). So every error may be logged.
//! - Errors a user can cause through the REST API become RFC 9457 `application/problem+json`
//!   responses in `api::problem`, with a stable `type`, and per-field reasons; that module is the
//!   only place that maps errors to HTTP. 400 when the request does not match the OpenAPI
//!   document; 422 when it does and a rule the document states only in words refuses it (a
//!   check digit, fields that do not fit together, a charge the masters cannot compute); with
//!   both, 400 listing all.
//! - Upstream failures are not errors of the answer: the service turns them into `stale` or
//!   `unavailable` answers with the failure's kind, never into `none_found`.
//! - Startup problems (`app::StartupError`, with `config::ConfigError` inside) stop the process
//!   with a message naming the setting; the command line prints them with [`report`], which
//!   follows the chain of causes.
//! - This module depends on no other module of the crate: each module owns its error enum, and
//!   only the policy and the pieces every module shares live here.
//! - Panics are bugs; upstream data never panics the gateway.

use std::error::Error;

/// An error and its chain of causes on one line (`a: b: c`), for the command line. Causes already
/// quoted in the message (`#[error("… {0}")]` with `#[source]`) are not repeated.
pub fn report(e: &dyn Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("quoted: {0}")]
    struct Quoted(#[source] std::io::Error);

    #[test]
    fn report_follows_the_chain_without_repeating_itself() {
        let io = || std::io::Error::other("disk on fire");
        assert_eq!(report(&Outer(io())), "outer: disk on fire");
        assert_eq!(report(&Quoted(io())), "quoted: disk on fire");
    }
}
