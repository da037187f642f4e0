//! The reception page's sessions: a person signs in with a client's token (scope `reception`)
//! and the browser keeps a random session id in an HttpOnly, SameSite=Strict cookie; the
//! session ends after [`IDLE`] without a page or a form (the live feed does not count), [`LIFETIME`]
//! after sign-in whatever the activity (a clerk's shift), or at sign-out. A client has at most
//! [`PER_CLIENT`] sessions: a sign-in beyond ends that client's oldest, never another client's.
//! Each session has its own CSRF token, which every form carries. Sessions live in memory: a
//! restart signs everybody out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header;
use tokio::time::Instant;

use crate::auth::Caller;

/// How long a session lasts without a page view or a form.
pub const IDLE: Duration = Duration::from_secs(15 * 60);

/// How long a session lasts at most, active or not: a shift; then the clerk signs in again.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);

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
    opened: Instant,
    last_seen: Instant,
}

impl Session {
    fn alive(&self, now: Instant) -> bool {
        now.duration_since(self.last_seen) < IDLE && now.duration_since(self.opened) < LIFETIME
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("client", &self.caller.name)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session for `caller`.
    pub fn open(&self, caller: Caller, now: Instant) -> Session {
        let s = Session {
            id: random_token(),
            caller,
            csrf: random_token(),
            opened: now,
            last_seen: now,
        };
        let mut g = self.lock();
        g.retain(|_, v| v.alive(now));
        // At the client's cap its oldest session ends: one token never ends another client's.
        let mine: Vec<(Instant, String)> = g
            .values()
            .filter(|v| v.caller.name == s.caller.name)
            .map(|v| (v.opened, v.id.clone()))
            .collect();
        if mine.len() >= PER_CLIENT
            && let Some((_, oldest)) = mine.into_iter().min()
        {
            g.remove(&oldest);
        }
        g.insert(s.id.clone(), s.clone());
        s
    }

    /// The session named by the request's cookie, if it has not been idle too long; `touch`
    /// counts this request as activity.
    pub fn find(&self, headers: &HeaderMap, now: Instant, touch: bool) -> Option<Session> {
        let id = cookie(headers, COOKIE)?;
        let mut g = self.lock();
        let s = g.get_mut(id)?;
        if !s.alive(now) {
            g.remove(id);
            return None;
        }
        if touch {
            s.last_seen = now;
        }
        Some(s.clone())
    }

    pub fn close(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.by_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
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

    fn caller() -> Caller {
        Caller {
            name: "counter".into(),
            scopes: [crate::auth::Scope::Reception].into(),
        }
    }

    fn with_cookie(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn a_session_ends_after_its_idle_time_and_activity_extends_it() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let s = sessions.open(caller(), t0);
        let h = with_cookie(&format!("other=1; {COOKIE}={}", s.id));
        let later = t0 + IDLE - Duration::from_secs(1);
        assert!(sessions.find(&h, later, false).is_some());
        // Not touched: idle since t0.
        assert!(sessions.find(&h, t0 + IDLE, true).is_none());
        let s = sessions.open(caller(), t0);
        let h = with_cookie(&format!("{COOKIE}={}", s.id));
        assert!(sessions.find(&h, later, true).is_some());
        assert!(
            sessions
                .find(&h, t0 + IDLE + Duration::from_secs(60), false)
                .is_some()
        );
        sessions.close(&s.id);
        assert!(sessions.find(&h, later, false).is_none());
        assert!(
            sessions
                .find(&with_cookie(&format!("{COOKIE}=forged")), later, false)
                .is_none()
        );
    }

    #[test]
    fn a_session_ends_after_a_shift_however_active() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let s = sessions.open(caller(), t0);
        let h = with_cookie(&format!("{COOKIE}={}", s.id));
        let mut t = t0;
        while t + IDLE / 2 < t0 + LIFETIME {
            t += IDLE / 2;
            assert!(sessions.find(&h, t, true).is_some(), "active at {t:?}");
        }
        assert!(sessions.find(&h, t0 + LIFETIME, true).is_none());
    }

    #[test]
    fn one_client_signing_in_again_and_again_ends_only_its_own_oldest_sessions() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let other = Caller {
            name: "counter-2".into(),
            scopes: [crate::auth::Scope::Reception].into(),
        };
        let theirs = sessions.open(other, t0);
        let first = sessions.open(caller(), t0 + Duration::from_secs(1));
        for i in 0..300 {
            sessions.open(caller(), t0 + Duration::from_secs(2 + i));
        }
        let at = t0 + Duration::from_secs(400);
        let find =
            |s: &Session| sessions.find(&with_cookie(&format!("{COOKIE}={}", s.id)), at, false);
        assert!(find(&theirs).is_some(), "another client's session stays");
        assert!(find(&first).is_none(), "its own oldest went");
        let mine = sessions
            .lock()
            .values()
            .filter(|v| v.caller.name == "counter")
            .count();
        assert_eq!(mine, PER_CLIENT);
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
