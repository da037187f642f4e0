//! The reception page's sessions: a person signs in with a client's token (scope `reception`)
//! and the browser keeps a random session id in an HttpOnly, SameSite=Strict cookie; the
//! session ends after [`IDLE`] without a page or a form (the live feed does not count), [`LIFETIME`]
//! after sign-in whatever the activity (a clerk's shift), or at sign-out. A client has at most
//! [`PER_CLIENT`] sessions: a sign-in beyond ends that client's oldest, never another client's.
//! Sessions live in the store under a keyed hash of their id (never the id), so that every
//! replica serves every session and a restart signs nobody out; the time is the service's
//! clock. Each session's CSRF token, which every form carries, is a keyed hash of its id: any
//! replica derives it, and the store never holds it.

use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header;

use super::super::AppState;
use crate::auth::{Caller, Scope};
use crate::store::{SessionExpiry, StoreError};

/// How long a session lasts without a page view or a form.
pub const IDLE: Duration = Duration::from_secs(15 * 60);

/// How long a session lasts at most, active or not: a shift; then the clerk signs in again.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);

const EXPIRY: SessionExpiry = SessionExpiry {
    idle: IDLE,
    lifetime: LIFETIME,
};

/// Sessions of one client at once (the counters of a clinic that share its token); a sign-in
/// beyond ends that client's oldest session.
pub const PER_CLIENT: usize = 16;

/// The session cookie's name.
pub const COOKIE: &str = "pmhg_reception";
/// The sign-in form's own CSRF cookie (before there is a session).
pub const SIGN_IN_COOKIE: &str = "pmhg_reception_signin";

/// 32 random bytes, hex ([`crate::auth::random_hex`]).
pub fn random_token() -> String {
    // The system's generator does not fail on a running Linux; an empty token would only fail
    // every comparison below (never accepted: see `same`).
    crate::auth::random_hex().unwrap_or_default()
}

/// Compares two tokens in constant time; an empty one never matches.
pub fn same(a: &str, b: &str) -> bool {
    !a.is_empty()
        && aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A signed-in person's session.
#[derive(Clone)]
pub struct Session {
    pub id: String,
    pub caller: Caller,
    pub csrf: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("client", &self.caller.name)
            .finish_non_exhaustive()
    }
}

fn session(st: &AppState, id: String, caller: Caller) -> Session {
    let csrf = st.hasher.session_csrf(&id).to_string();
    Session { id, caller, csrf }
}

/// A new session for `caller`, in the store.
pub async fn open(st: &AppState, caller: Caller) -> Result<Session, StoreError> {
    let id = random_token();
    st.store
        .open_session(
            st.hasher.session(&id),
            caller.name.clone(),
            st.service.now(),
            EXPIRY,
            PER_CLIENT,
        )
        .await?;
    Ok(session(st, id, caller))
}

/// The session named by the request's cookie, if it has not expired and its client still may
/// use the page (a client removed or without `reception` since has none); `touch` counts this
/// request as activity.
pub async fn find(
    st: &AppState,
    headers: &HeaderMap,
    touch: bool,
) -> Result<Option<Session>, StoreError> {
    let Some(id) = cookie(headers, COOKIE).filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    let client = st
        .store
        .session(st.hasher.session(id), st.service.now(), EXPIRY, touch)
        .await?;
    Ok(client
        .and_then(|name| st.access.by_name(&name).cloned())
        .filter(|c| c.may(Scope::Reception))
        .map(|caller| session(st, id.to_owned(), caller)))
}

/// Ends a session (signing out).
pub async fn close(st: &AppState, id: &str) -> Result<(), StoreError> {
    st.store.close_session(st.hasher.session(id)).await
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the page's paths; `Secure` when the
/// page is served over TLS; `max_age` 0 removes it.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/reception; HttpOnly; SameSite=Strict");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {COOKIE}=abc; x=2")).unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, SIGN_IN_COOKIE), None);
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same("", ""));
        assert!(!same(&a, &a[..63]));
    }
}
