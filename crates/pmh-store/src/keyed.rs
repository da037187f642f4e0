//! Keyed hashes instead of identifiers: the store records a patient as HMAC-SHA256 of the insured
//! identity (and a 照会番号 as HMAC-SHA256 of the number) under a secret created at first start
//! and kept beside the database, owner-only. Without the secret a hash cannot be tested against
//! guessed identities; with it, `pmh-gateway audit --insured …` finds a patient's accesses.

use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{aead, hmac};

use super::StoreError;
use pmh_core::domain::date::Yyyymmdd;
use pmh_core::domain::{IDENTITY_SEPARATOR, InsuredIdentity, PayerNumber, hex};
use pmh_files::{create_owner_only, is_private_secret};

/// The secret's size in bytes (and a sealing key's).
pub const KEY_BYTES: usize = 32;

/// How a committed charge's fingerprint starts (a keyed hash; earlier builds kept a plain
/// SHA-256 of the request, which a brute force over recipient numbers reverses).
pub const CHARGE_FINGERPRINT_PREFIX: &str = "k1:";
/// How a committed charge's sealed answer starts (hex of the sealed bytes follows).
pub const SEALED_CHARGE_PREFIX: &str = "sealed1:";

/// A keyed hash, as lowercase hex (64 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyedHash(String);

impl KeyedHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A hash as stored (64 hex characters); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(s.to_ascii_lowercase()))
    }
}

impl std::fmt::Display for KeyedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The HMAC key of one store.
pub struct Hasher {
    key: hmac::Key,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher(<secret>)")
    }
}

impl Hasher {
    /// A hasher with the given secret (tests, and the file's content).
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// Reads the secret at `path`, which must exist (a shared database: every replica is given
    /// the same one). A secret file readable by others is refused.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Key {
                path: path.to_path_buf(),
                source: std::io::Error::other(
                    "not found: with a shared database every replica needs the same secret, created once (32 random bytes, owner-only)",
                ),
            });
        }
        Self::open_or_create(path)
    }

    /// Reads the secret at `path`, or creates it (random, owner-only) when there is none. A
    /// secret file readable by others is refused.
    pub fn open_or_create(path: &Path) -> Result<Self, StoreError> {
        let failed = |source: std::io::Error| StoreError::Key {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                if !is_private_secret(path).map_err(failed)? {
                    return Err(StoreError::KeyPermissions {
                        path: path.to_path_buf(),
                    });
                }
                if bytes.len() != KEY_BYTES {
                    return Err(failed(std::io::Error::other(format!(
                        "the secret must be {KEY_BYTES} bytes, found {}",
                        bytes.len()
                    ))));
                }
                Ok(Self::from_secret(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = [0u8; KEY_BYTES];
                SystemRandom::new()
                    .fill(&mut secret)
                    .map_err(|_| failed(std::io::Error::other("no random bytes")))?;
                let mut f = create_owner_only(path).map_err(failed)?;
                f.write_all(&secret).map_err(failed)?;
                f.sync_all().map_err(failed)?;
                Ok(Self::from_secret(&secret))
            }
            Err(e) => Err(failed(e)),
        }
    }

    fn hash(&self, domain: &str, value: &str) -> KeyedHash {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(domain.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        KeyedHash(hex(ctx.sign().as_ref()))
    }

    /// The patient: the insured identity as the cache knows it (insurer, symbol, number, branch,
    /// birthdate), whatever order or padding the caller used.
    pub fn patient(&self, insured: &InsuredIdentity) -> KeyedHash {
        self.hash("patient", &canonical(insured))
    }

    /// A reception page session, by its cookie's id (the store keeps this, never the id).
    pub fn session(&self, id: &str) -> KeyedHash {
        self.hash("reception-session", id)
    }

    /// A reception page session's CSRF token: any replica derives it from the id.
    pub fn session_csrf(&self, id: &str) -> KeyedHash {
        self.hash("reception-csrf", id)
    }

    /// A certificate (受給者証): its payer number and recipient number, as the ledger keys it.
    pub fn card(&self, payer: &PayerNumber, recipient: &str) -> KeyedHash {
        self.hash("card", &format!("{}|{}", payer.as_str(), recipient.trim()))
    }

    /// The ledger's key for a subsidy whose monthly cap is shared (自己負担上限額管理票): its
    /// certificate's [`card`](Self::card); `None` without a shared cap, a readable payer number or
    /// a recipient number.
    pub fn shared_card(
        &self,
        shared: bool,
        payer: &str,
        recipient: Option<&str>,
    ) -> Option<KeyedHash> {
        let payer = PayerNumber::parse(payer).ok().filter(|_| shared)?;
        Some(self.card(&payer, recipient?))
    }

    /// A 照会番号 (trimmed).
    pub fn reference(&self, reference: &str) -> KeyedHash {
        self.hash("reference", reference.trim())
    }

    /// A check-in file: its name and its bytes (the same file read again, by this replica or
    /// another, has the same key; a new check-in has a new name).
    pub fn checkin_file(&self, name: &str, bytes: &[u8]) -> KeyedHash {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(b"checkin-file");
        ctx.update(&[0]);
        ctx.update(name.as_bytes());
        ctx.update(&[0]);
        ctx.update(bytes);
        KeyedHash(hex(ctx.sign().as_ref()))
    }

    /// A charge request's fingerprint: a keyed hash, in its own domain, of the SHA-256 (hex) of
    /// the request as parsed. Keyed so that a copy of the database cannot be searched for the
    /// recipient number a request held; over the SHA-256 so that rows of earlier builds, which
    /// kept that SHA-256, are rewritten to the same value.
    pub fn charge_request(&self, sha256_hex: &str) -> String {
        format!(
            "{CHARGE_FINGERPRINT_PREFIX}{}",
            self.hash("charge-request", sha256_hex)
        )
    }

    /// A 管理票 entry request's fingerprint: a keyed hash, in its own domain, of the SHA-256
    /// (hex) of the request as parsed (it names a recipient number: keyed, as a charge's).
    pub fn ledger_entry(&self, sha256_hex: &str) -> String {
        self.hash("ledger-entry", sha256_hex).as_str().to_owned()
    }

    /// A committed charge's answer as kept: sealed under a key derived from its owner and
    /// visit id (the row's lookup values; the secret makes the key).
    pub fn seal_charge(&self, owner: &str, visit_id: &str, answer: &str) -> String {
        let sealed = self.charge_sealer(owner, visit_id).seal(answer.as_bytes());
        format!("{SEALED_CHARGE_PREFIX}{}", hex(&sealed))
    }

    /// A committed charge's answer from what is kept; `None` when it does not open.
    pub fn open_charge(&self, owner: &str, visit_id: &str, kept: &str) -> Option<String> {
        let sealed = pmh_core::domain::unhex(kept.strip_prefix(SEALED_CHARGE_PREFIX)?)?;
        let plain = self.charge_sealer(owner, visit_id).open(&sealed)?;
        String::from_utf8(plain).ok()
    }

    fn charge_sealer(&self, owner: &str, visit_id: &str) -> Sealer {
        self.sealer("charge", &format!("{owner}\0{visit_id}"))
    }

    /// The secret's fingerprint: its keyed hash of a fixed text (the store records it, to refuse
    /// another secret later).
    pub fn key_check(&self) -> String {
        self.hash("key-check", "pmh-gateway").as_str().to_owned()
    }

    /// Where a person's stale stand-in is kept, and the key it is sealed under.
    pub fn stand_in(&self, insured: &InsuredIdentity) -> (KeyedHash, Sealer) {
        self.kept("stand_in", &canonical(insured))
    }

    /// Where the check-in under a 照会番号 (trimmed) is kept, and the key it is sealed under.
    pub fn check_in(&self, reference: &str) -> (KeyedHash, Sealer) {
        self.kept("check_in", reference.trim())
    }

    /// The key the reception list's rows of a service day (`YYYY-MM-DD`) are sealed with.
    pub fn board(&self, day: &str) -> Sealer {
        self.sealer("board", day)
    }

    /// The key an answer kept under `check_id` is sealed with (the check id is not personal,
    /// so it is the row's key as it is).
    pub fn answer(&self, check_id: &str) -> Sealer {
        self.sealer("answer", check_id)
    }

    /// Where a receipt check's report is kept, and the key it is sealed under (by its id, which
    /// only its owner and the gateway know).
    pub fn report(&self, id: &str) -> (KeyedHash, Sealer) {
        self.kept("receipt_report", id)
    }

    /// The row's key (an HMAC in the item's own domain) and a sealing key derived from the same
    /// value in another: a kept row reads nothing to whoever lacks the secret *or* the value
    /// it is looked up by (the person's identity, the 照会番号).
    fn kept(&self, item: &str, value: &str) -> (KeyedHash, Sealer) {
        (
            self.hash(&format!("kept:{item}"), value),
            self.sealer(item, value),
        )
    }

    /// The sealing key of [`Hasher::kept`] alone.
    fn sealer(&self, item: &str, value: &str) -> Sealer {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(b"seal:");
        ctx.update(item.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        let tag = ctx.sign();
        let key = aead::UnboundKey::new(&aead::AES_256_GCM, tag.as_ref())
            .expect("an HMAC-SHA256 tag is an AES-256 key");
        Sealer {
            key: aead::LessSafeKey::new(key),
            aad: item.to_owned(),
        }
    }
}

/// The insured identity as the store knows it (insurer, symbol, number, branch, birthdate),
/// whatever order or padding the caller used.
fn canonical(insured: &InsuredIdentity) -> String {
    // Injective: the insurer, branch and date are digits, and the identity refuses the
    // separator in 記号 and 番号.
    format!(
        "{}{s}{}{s}{}{s}{}{s}{}",
        insured.insurer_number(),
        insured.symbol().unwrap_or(""),
        insured.number(),
        insured.branch().unwrap_or(""),
        Yyyymmdd(insured.birthdate()),
        s = IDENTITY_SEPARATOR,
    )
}

/// AES-256-GCM under a key derived from a kept row's lookup value; a random nonce per seal,
/// written before the ciphertext.
pub struct Sealer {
    key: aead::LessSafeKey,
    aad: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

impl Sealer {
    /// A sealer under a fresh random key, and the key (to be kept sealed elsewhere: an answer's
    /// shared body is opened by the key its checks' own sealed rows hold).
    pub fn random(item: &str) -> (Self, [u8; KEY_BYTES]) {
        let mut key = [0u8; KEY_BYTES];
        SystemRandom::new()
            .fill(&mut key)
            .expect("the system has random bytes");
        (Self::with_key(&key, item), key)
    }

    /// A sealer under a given key (from [`Sealer::random`]).
    pub fn with_key(key: &[u8; KEY_BYTES], item: &str) -> Self {
        let key =
            aead::UnboundKey::new(&aead::AES_256_GCM, key).expect("32 bytes are an AES-256 key");
        Self {
            key: aead::LessSafeKey::new(key),
            aad: item.to_owned(),
        }
    }

    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system has random bytes");
        // Nonce, ciphertext and tag in one buffer, sealed in place after the nonce.
        let mut sealed = Vec::with_capacity(aead::NONCE_LEN + plain.len() + aead::MAX_TAG_LEN);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(self.aad.as_bytes()),
                &mut sealed[aead::NONCE_LEN..],
            )
            .expect("sealing a buffer in memory cannot fail");
        sealed.extend_from_slice(tag.as_ref());
        sealed
    }

    /// The plain bytes; `None` when `sealed` was not sealed under this key (or was altered).
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < aead::NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, aead::Aad::from(self.aad.as_bytes()), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Where the secret of a store in `dir` lives.
pub fn key_path(dir: &Path) -> PathBuf {
    dir.join("audit.key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmh_core::domain::unhex;

    fn insured(number: &str) -> InsuredIdentity {
        InsuredIdentity::new(
            "06132013",
            Some("12"),
            number,
            Some("01"),
            chrono::NaiveDate::from_ymd_opt(1980, 4, 1).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn hashes_are_keyed_stable_and_hide_the_identity() {
        let a = Hasher::from_secret(b"one secret of thirty-two bytes!!");
        let b = Hasher::from_secret(b"another secret, thirty-two bytes");
        let h = a.patient(&insured("345"));
        assert_eq!(h, a.patient(&insured("345")), "stable");
        assert_ne!(h, a.patient(&insured("346")));
        assert_ne!(h, b.patient(&insured("345")), "keyed");
        assert_eq!(h.as_str().len(), 64);
        assert!(!h.as_str().contains("345"));
        assert_ne!(a.reference("0000000001"), a.patient(&insured("0000000001")));
        assert_eq!(a.reference(" 0000000001 "), a.reference("0000000001"));
    }

    /// Rows written by earlier builds stay findable and readable: the keyed hash of a patient
    /// and the sealing key of a kept answer are pinned to values computed independently
    /// (Python's hmac and cryptography's AES-GCM).
    #[test]
    fn hashes_and_sealing_keys_are_the_same_across_builds() {
        let a = Hasher::from_secret(b"one secret of thirty-two bytes!!");
        assert_eq!(
            a.patient(&insured("345")).as_str(),
            "f7299fe8a9ca3e6db61cd52b132e533f8a94cfc6658ea186f920fce843857781"
        );
        let sealed = unhex(
            "000102030405060708090a0b4bc59bd56b4f77c2081746a31fa2272219463e8f0f8e11662988c932f1",
        )
        .unwrap();
        assert_eq!(
            a.answer("0b5c7a52-1d1e-4a37-9d27-6f5a1f0c2a10")
                .open(&sealed)
                .as_deref(),
            Some(&br#"{"kept":true}"#[..])
        );
    }

    #[test]
    fn a_kept_row_opens_only_with_the_secret_and_the_value_it_is_looked_up_by() {
        let a = Hasher::from_secret(b"one secret of thirty-two bytes!!");
        let b = Hasher::from_secret(b"another secret, thirty-two bytes");
        let (key, sealer) = a.check_in("0000000042");
        let sealed = sealer.seal(b"the body 1234566");
        assert!(!String::from_utf8_lossy(&sealed).contains("1234566"));
        assert_ne!(
            sealed,
            sealer.seal(b"the body 1234566"),
            "a fresh nonce each time"
        );
        assert_eq!(a.check_in(" 0000000042 ").0, key);
        assert_eq!(
            a.check_in("0000000042").1.open(&sealed).as_deref(),
            Some(&b"the body 1234566"[..])
        );
        assert_eq!(
            a.check_in("0000000043").1.open(&sealed),
            None,
            "another value"
        );
        assert_eq!(
            b.check_in("0000000042").1.open(&sealed),
            None,
            "another secret"
        );
        let (person, _) = a.stand_in(&insured("345"));
        assert_ne!(person, a.patient(&insured("345")), "not the audit's hash");
        assert_eq!(
            a.stand_in(&insured("345")).1.open(&sealed),
            None,
            "another item"
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open(&altered), None);
        assert_eq!(sealer.open(&sealed[..5]), None);
    }

    #[test]
    fn the_secret_is_created_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_path(dir.path());
        let first = Hasher::open_or_create(&path)
            .unwrap()
            .patient(&insured("1"));
        assert!(pmh_files::is_owner_only(&path).unwrap());
        let again = Hasher::open_or_create(&path)
            .unwrap()
            .patient(&insured("1"));
        assert_eq!(first, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                Hasher::open_or_create(&path),
                Err(StoreError::KeyPermissions { .. })
            ));
        }
    }
}
