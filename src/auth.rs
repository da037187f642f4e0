//! Callers: named clients with scopes, and how they prove who they are — a bearer token (random,
//! 256 bits, shown once; only its SHA-256 is kept in the configuration) or a client certificate
//! on the REST listener (its subject's common name names the client). And the limiter that slows
//! down a source address that keeps failing.
//!
//! Invariants: a token is never stored or logged, only its hash; the lookup is by hash, so the
//! time it takes says nothing about the secret; every scope is one of a fixed vocabulary.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use tokio::time::Instant;

/// What a client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Ask for subsidies (`POST /v1/subsidy-checks`) and read an earlier check.
    Check,
    /// Ask by 照会番号 for a checked-in patient.
    CheckIn,
    /// Post an オン資 result whose PMH block may enter the cache.
    OnshiPost,
    /// Window charges and the monthly cap ledger.
    Charges,
    /// Masters reload, audit queries, metrics and readiness details.
    Admin,
    /// The reception page in a browser.
    Reception,
    /// The month-end receipt pre-check (`/v1/receipt-checks`, the reception page's 月次点検).
    ReceiptCheck,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Self::Check,
        Self::CheckIn,
        Self::OnshiPost,
        Self::Charges,
        Self::Admin,
        Self::Reception,
        Self::ReceiptCheck,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::CheckIn => "check_in",
            Self::OnshiPost => "onshi_post",
            Self::Charges => "charges",
            Self::Admin => "admin",
            Self::Reception => "reception",
            Self::ReceiptCheck => "receipt_check",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }

    /// The words of every scope, for messages.
    pub fn vocabulary() -> String {
        Self::ALL.map(Scope::as_str).join(", ")
    }
}

/// The SHA-256 of a token, as configured: `sha256:` and 64 hex digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(…)")
    }
}

impl TokenHash {
    pub fn of(token: &str) -> Self {
        let d = digest::digest(&digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    /// `sha256:<64 hex digits>`.
    pub fn parse(s: &str) -> Option<Self> {
        let hex = s.trim().strip_prefix("sha256:")?;
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }

    pub fn to_config(&self) -> String {
        format!("sha256:{}", crate::domain::hex(&self.0))
    }
}

/// The prefix of the gateway's tokens (so a leaked one is recognisable).
pub const TOKEN_PREFIX: &str = "pmhg_";

/// A new random token (256 bits) and its hash.
pub fn new_token() -> Result<(String, TokenHash), aws_lc_rs::error::Unspecified> {
    let token = format!("{TOKEN_PREFIX}{}", random_hex()?);
    let hash = TokenHash::of(&token);
    Ok((token, hash))
}

/// 32 bytes from the system's generator, in hex: a client token's body, a session id, a CSRF
/// token.
pub fn random_hex() -> Result<String, aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(crate::domain::hex(&bytes))
}

/// Whether `name` can name a client: 1-64 characters of A-Z a-z 0-9 . _ - (it appears in the
/// audit, in certificate names and in file names).
pub fn valid_client_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A named client and its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    pub token: Option<TokenHash>,
    /// The common name of the client's certificate (REST listener with a client CA).
    pub certificate_name: Option<String>,
}

/// Who may call, and how hard failing is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    pub clients: Vec<Client>,
    /// Accepted `Host` names (lowercase, without port): the loopback names, the listen address
    /// and the configured ones.
    pub allowed_hosts: Vec<String>,
    pub max_failures: u32,
    pub failure_window: Duration,
    pub block: Duration,
}

impl AccessConfig {
    /// Whether `host` (a `Host` header's value, with or without port) is allowed.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let name = match host.strip_prefix('[') {
            // [::1]:8421
            Some(v6) => v6
                .split(']')
                .next()
                .map(|h| format!("[{h}]"))
                .unwrap_or_default(),
            None => host.rsplit_once(':').map_or(host.clone(), |(h, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    h.to_owned()
                } else {
                    host.clone()
                }
            }),
        };
        self.allowed_hosts.contains(&name)
    }

    /// The loopback names every gateway answers to, and the listen address.
    pub fn default_hosts(listen: std::net::SocketAddr) -> Vec<String> {
        let mut hosts = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "[::1]".to_owned(),
        ];
        let ip = match listen.ip() {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        if !listen.ip().is_unspecified() && !hosts.contains(&ip) {
            hosts.push(ip);
        }
        hosts
    }
}

/// Who is calling: the client's name and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub scopes: BTreeSet<Scope>,
}

impl Caller {
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// The configured clients, looked up by token hash or certificate name.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    by_token: HashMap<TokenHash, Caller>,
    by_certificate: HashMap<String, Caller>,
    by_name: HashMap<String, Caller>,
}

impl Clients {
    pub fn new(clients: &[Client]) -> Self {
        let mut out = Self::default();
        for c in clients {
            let caller = Caller {
                name: c.name.clone(),
                scopes: c.scopes.clone(),
            };
            if let Some(t) = &c.token {
                out.by_token.insert(t.clone(), caller.clone());
            }
            if let Some(n) = &c.certificate_name {
                out.by_certificate.insert(n.clone(), caller.clone());
            }
            out.by_name.insert(c.name.clone(), caller);
        }
        out
    }

    pub fn by_token(&self, token: &str) -> Option<&Caller> {
        self.by_token.get(&TokenHash::of(token.trim()))
    }

    pub fn by_certificate(&self, common_name: &str) -> Option<&Caller> {
        self.by_certificate.get(common_name)
    }

    /// The client of this name (a session names its client; the client's scopes are today's).
    pub fn by_name(&self, name: &str) -> Option<&Caller> {
        self.by_name.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty() && self.by_certificate.is_empty()
    }
}

/// Who failed: a source address and the credential it presented (a token's hash, cut short;
/// never the token). Failures with one wrong token do not stand in the way of another
/// credential from the same address — in a one-PC clinic the receipt computer, the clerk's
/// browser and scripts share one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attempt {
    ip: IpAddr,
    credential: [u8; 16],
}

impl Attempt {
    /// A presented token from `ip`.
    pub fn token(ip: IpAddr, token: &str) -> Self {
        let mut credential = [0u8; 16];
        credential.copy_from_slice(&TokenHash::of(token.trim()).0[..16]);
        Self { ip, credential }
    }
}

/// Slows down a credential that keeps failing: after `max_failures` failures of one [`Attempt`]
/// within `window`, that address with that credential is refused at once (401 with `Retry-After`) for `block`, then twice
/// as long each time it trips again (up to a day; forgotten after a day without failures). It
/// only ever answers a failing attempt: a valid credential is never refused, whatever failed
/// before from its address. A missing credential is counted in the metrics, not here.
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    block: Duration,
    state: Mutex<HashMap<Attempt, Failures>>,
}

struct Failures {
    first: Instant,
    last: Instant,
    count: u32,
    /// How many times this attempt was blocked (the back-off doubles with each).
    strikes: u32,
    blocked_until: Option<Instant>,
}

/// The longest block, and how long a quiet attempt is remembered.
const MAX_BLOCK: Duration = Duration::from_secs(24 * 3600);
/// At most this many attempts are remembered (the oldest quiet ones go first).
const MAX_ATTEMPTS: usize = 10_000;

impl FailureLimiter {
    pub fn new(max_failures: u32, window: Duration, block: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            block,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(remaining)` while `attempt` is blocked.
    pub fn blocked(&self, attempt: &Attempt, now: Instant) -> Option<Duration> {
        let state = self.state.lock().ok()?;
        let until = state.get(attempt)?.blocked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts a failure; `Some(block)` when this one blocks the attempt (for that long).
    pub fn failed(&self, attempt: Attempt, now: Instant) -> Option<Duration> {
        let mut state = self.state.lock().ok()?;
        if state.len() >= MAX_ATTEMPTS {
            state.retain(|_, f| {
                f.blocked_until.is_some_and(|u| u > now) || now.duration_since(f.last) < MAX_BLOCK
            });
            if state.len() >= MAX_ATTEMPTS {
                // Still full of recent failures (a flood of guesses): the oldest go.
                let mut by_age: Vec<(Instant, Attempt)> =
                    state.iter().map(|(a, f)| (f.last, *a)).collect();
                by_age.sort_by_key(|(last, _)| *last);
                for (_, a) in by_age.iter().take(MAX_ATTEMPTS / 10) {
                    state.remove(a);
                }
            }
        }
        let f = state.entry(attempt).or_insert(Failures {
            first: now,
            last: now,
            count: 0,
            strikes: 0,
            blocked_until: None,
        });
        if now.duration_since(f.last) >= MAX_BLOCK {
            f.strikes = 0;
        }
        if now.duration_since(f.first) >= self.window {
            f.first = now;
            f.count = 0;
        }
        f.last = now;
        f.count += 1;
        if f.count < self.max_failures {
            return None;
        }
        let block = self
            .block
            .saturating_mul(1u32 << f.strikes.min(16))
            .min(MAX_BLOCK);
        f.strikes += 1;
        f.blocked_until = Some(now + block);
        f.first = now;
        f.count = 0;
        Some(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_found_by_their_hash_only() {
        let (token, hash) = new_token().unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == TOKEN_PREFIX.len() + 64);
        assert_ne!(new_token().unwrap().0, token);
        let config = hash.to_config();
        assert_eq!(TokenHash::parse(&config), Some(hash.clone()));
        assert!(!config.contains(&token[TOKEN_PREFIX.len()..]));
        let clients = Clients::new(&[Client {
            name: "recept-1".into(),
            scopes: [Scope::Check].into(),
            token: Some(hash),
            certificate_name: None,
        }]);
        assert_eq!(clients.by_token(&token).unwrap().name, "recept-1");
        assert!(clients.by_token("pmhg_guess").is_none());
        assert!(TokenHash::parse("sha256:12").is_none());
        assert!(TokenHash::parse("md5:00").is_none());
    }

    #[test]
    fn hosts_are_compared_without_port_or_case() {
        let a = AccessConfig {
            clients: Vec::new(),
            allowed_hosts: {
                let mut h = AccessConfig::default_hosts("127.0.0.1:8421".parse().unwrap());
                h.push("gateway.clinic.example".into());
                h
            },
            max_failures: 1,
            failure_window: Duration::from_secs(1),
            block: Duration::from_secs(1),
        };
        for ok in [
            "localhost:8421",
            "127.0.0.1",
            "[::1]:8421",
            "Gateway.Clinic.Example:443",
        ] {
            assert!(a.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8421",
            "localhost.evil.example",
            "",
        ] {
            assert!(!a.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn scopes_have_one_vocabulary() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("root"), None);
    }

    #[test]
    fn repeated_failures_block_that_credential_from_that_address_longer_each_time() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let l = FailureLimiter::new(3, secs(60), secs(30));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let wrong = Attempt::token(ip, "pmhg_wrong");
        assert_eq!(l.failed(wrong, t0), None);
        assert_eq!(l.failed(wrong, t0), None);
        assert!(l.blocked(&wrong, t0).is_none());
        assert_eq!(l.failed(wrong, t0 + secs(1)), Some(secs(30)));
        assert_eq!(l.blocked(&wrong, t0 + secs(11)), Some(secs(20)));
        // Another credential from the same address, or the same from another, is not blocked.
        assert!(l.blocked(&Attempt::token(ip, "pmhg_other"), t0).is_none());
        let elsewhere = Attempt::token("127.0.0.2".parse().unwrap(), "pmhg_wrong");
        assert!(l.blocked(&elsewhere, t0).is_none());
        assert!(l.blocked(&wrong, t0 + secs(31)).is_none());
        // Tripped again: twice as long, then four times.
        for _ in 0..3 {
            l.failed(wrong, t0 + secs(40));
        }
        assert_eq!(l.blocked(&wrong, t0 + secs(40)), Some(secs(60)));
        for _ in 0..3 {
            l.failed(wrong, t0 + secs(200));
        }
        assert_eq!(l.blocked(&wrong, t0 + secs(200)), Some(secs(120)));
        // A day without failures: back to the first block.
        for _ in 0..3 {
            l.failed(wrong, t0 + secs(200 + 86_400 + 1));
        }
        assert_eq!(
            l.blocked(&wrong, t0 + secs(200 + 86_400 + 1)),
            Some(secs(30))
        );
        // Failures spread beyond the window do not add up.
        let l = FailureLimiter::new(2, secs(10), secs(30));
        assert_eq!(l.failed(wrong, t0), None);
        assert_eq!(l.failed(wrong, t0 + secs(11)), None);
    }

    #[test]
    fn a_flood_of_guesses_keeps_memory_bounded() {
        let t0 = Instant::now();
        let l = FailureLimiter::new(3, Duration::from_secs(60), Duration::from_secs(30));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..(MAX_ATTEMPTS * 2) {
            l.failed(Attempt::token(ip, &format!("pmhg_{i}")), t0);
        }
        assert!(l.state.lock().unwrap().len() <= MAX_ATTEMPTS);
    }
}
