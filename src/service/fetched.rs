//! An upstream answer as cached, one per cached person, in one allocation: a shared byte buffer
//! (`Arc<[u8]>`) that holds the few fixed fields and the certificates, encoded.
//!
//! The certificates are the largest part: a `Certificate` is 400 bytes before its strings, each
//! string an allocation of its own, so they are kept encoded (postcard) and decoded when a
//! mapping is made — which the mapping memo does once per cached answer, visit setting and
//! masters snapshot — and when the answer is kept in the durable state. The fixed fields sit in
//! front of them in the same buffer: where a struct behind an `Arc` with the encoding in a box of
//! its own took two allocations (80 bytes and the encoding's), this takes one, the counts and
//! 25 bytes beside the encoding (a test holds the layout).
//!
//! An encoding is checked by decoding it once when it is made. One that does not come back whole
//! (it has never happened; a test covers every field) is not used: the certificates are kept as
//! JSON instead, the durable state's own form, which reads back whole.
//!
//! Layout, little-endian: `id` u64 | `obtained_at` i64 | `fresh_until` i64 | flags u8 |
//! [the result file's name: u32 length, bytes] | certificates (empty: none).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Origin;
use crate::domain::Certificate;

/// The fixed fields' bytes: `id`, the two times, the flags.
const HEAD: usize = 8 + 8 + 8 + 1;
const FROM_RESULT: u8 = 1;
const HAS_FILE: u8 = 2;
const JSON: u8 = 4;

/// A cached answer; a clone shares the buffer.
#[derive(Clone)]
pub(super) struct Fetched(Arc<[u8]>);

/// Personal data: the origin and the certificates' count only.
impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("id", &self.id())
            .field("from_result", &self.is_from_result())
            .field("certificates", &self.certificates().len())
            .finish_non_exhaustive()
    }
}

impl Fetched {
    pub(super) fn new(
        certificates: &[Certificate],
        obtained_at: DateTime<Utc>,
        fresh_until: DateTime<Utc>,
        origin: Origin,
    ) -> Self {
        let (encoded, json) = encode(certificates);
        let file = match &origin {
            Origin::OnshiResult { file } => file.as_deref(),
            Origin::Upstream => None,
        };
        let mut flags = 0;
        if matches!(origin, Origin::OnshiResult { .. }) {
            flags |= FROM_RESULT;
        }
        if file.is_some() {
            flags |= HAS_FILE;
        }
        if json {
            flags |= JSON;
        }
        let file_bytes = file.map_or(0, |f| 4 + f.len());
        let mut b = Vec::with_capacity(HEAD + file_bytes + encoded.len());
        b.extend_from_slice(&super::next_id().to_le_bytes());
        b.extend_from_slice(&stamp(obtained_at).to_le_bytes());
        b.extend_from_slice(&stamp(fresh_until).to_le_bytes());
        b.push(flags);
        if let Some(f) = file {
            // A file name of 4 GiB is not one the terminal's folder holds.
            let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&f.as_bytes()[..len as usize]);
        }
        b.extend_from_slice(&encoded);
        Self(Arc::from(b))
    }

    fn word(&self, at: usize) -> [u8; 8] {
        let mut w = [0; 8];
        w.copy_from_slice(&self.0[at..at + 8]);
        w
    }

    fn flags(&self) -> u8 {
        self.0[HEAD - 1]
    }

    /// Unique within the process ([`super::next_id`]): the mapping memo's key.
    pub(super) fn id(&self) -> u64 {
        u64::from_le_bytes(self.word(0))
    }

    pub(super) fn obtained_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(i64::from_le_bytes(self.word(8)))
    }

    pub(super) fn fresh_until(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(i64::from_le_bytes(self.word(16)))
    }

    /// From an オン資 result (posted or filed) rather than the upstream.
    fn is_from_result(&self) -> bool {
        self.flags() & FROM_RESULT != 0
    }

    /// The result file's name, and where the certificates start.
    fn file(&self) -> (Option<&str>, usize) {
        if self.flags() & HAS_FILE == 0 {
            return (None, HEAD);
        }
        let mut len = [0; 4];
        len.copy_from_slice(&self.0[HEAD..HEAD + 4]);
        let end = HEAD + 4 + u32::from_le_bytes(len) as usize;
        // Written from a `&str` whole by `new`.
        let name = std::str::from_utf8(&self.0[HEAD + 4..end]).ok();
        (name, end)
    }

    pub(super) fn origin(&self) -> Origin {
        if self.is_from_result() {
            Origin::OnshiResult {
                file: self.file().0.map(str::to_owned),
            }
        } else {
            Origin::Upstream
        }
    }

    pub(super) fn certificates(&self) -> Certs<'_> {
        Certs {
            bytes: &self.0[self.file().1..],
            json: self.flags() & JSON != 0,
        }
    }

    /// The bytes held (beside the `Arc`'s two counts).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.0.len()
    }
}

/// Nanoseconds since the Unix epoch (years 1677 to 2262; beyond them, the nearest end).
fn stamp(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The certificates' encoding, and whether it is JSON (when postcard's did not come back whole).
/// No certificates: no bytes.
fn encode(certificates: &[Certificate]) -> (Vec<u8>, bool) {
    if certificates.is_empty() {
        return (Vec::new(), false);
    }
    let whole = |b: &Vec<u8>| {
        postcard::from_bytes::<Vec<Certificate>>(b)
            .is_ok_and(|back| back.len() == certificates.len())
    };
    match postcard::to_allocvec(certificates) {
        Ok(b) if whole(&b) => (b, false),
        _ => {
            tracing::warn!("certificates could not be encoded compactly; kept as JSON");
            // Serialising strings, integers, options and lists to JSON does not fail; were it
            // to, the check fails whole rather than reading as "no certificates".
            let json = serde_json::to_vec(certificates)
                .expect("certificates serialise to JSON (the durable state's form)");
            (json, true)
        }
    }
}

/// A cached answer's certificates, encoded.
#[derive(Clone, Copy)]
pub(super) struct Certs<'a> {
    bytes: &'a [u8],
    json: bool,
}

impl Certs<'_> {
    pub(super) fn is_empty(self) -> bool {
        self.bytes.is_empty()
    }

    /// How many: a postcard encoding starts with its count (a sequence's length).
    pub(super) fn len(self) -> usize {
        match (self.bytes.is_empty(), self.json) {
            (true, _) => 0,
            (false, false) => postcard::take_from_bytes::<usize>(self.bytes)
                .map(|(n, _)| n)
                .expect("an encoding is used only once it has decoded"),
            (false, true) => self.to_vec().len(),
        }
    }

    /// The certificates, as parsed.
    pub(super) fn to_vec(self) -> Vec<Certificate> {
        match (self.bytes.is_empty(), self.json) {
            (true, _) => Vec::new(),
            (false, false) => postcard::from_bytes(self.bytes)
                .expect("an encoding is used only once it has decoded"),
            (false, true) => serde_json::from_slice(self.bytes)
                .expect("certificates read back from the JSON they were written to"),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::{CertificateDetail, DesignatedInstitution};

    fn full() -> Vec<Certificate> {
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let mut a = Certificate::simple("54136015", Some("1774264"), day, day);
        a.certification_name = Some("特定医療費（指定難病）受給者証".into());
        a.income_segment = Some("一般所得Ⅰ".into());
        a.additional_conditions = vec!["01-1".into()];
        a.designated_institutions = vec![DesignatedInstitution {
            code: "1311111111".into(),
            name: Some("サンドボックス診療所".into()),
        }];
        a.details = vec![CertificateDetail {
            name: "疾病名".into(),
            value: "潰瘍性大腸炎".into(),
        }];
        a.max_copayment.outpatient.per_month = Some(crate::domain::Yen(5000));
        a.validity = Err(crate::domain::date::DateError::OutOfRange(99999));
        a.unreadable = vec!["maxCopaymentAmount.inpatient.perDay".into()];
        let b = Certificate::simple("21136015", None, day, day);
        vec![a, b]
    }

    #[test]
    fn certificates_come_back_whole_from_their_encoding() {
        let now = Utc::now();
        let certs = full();
        let f = Fetched::new(&certs, now, now, Origin::Upstream);
        let c = f.certificates();
        assert!(!c.json, "postcard");
        assert_eq!((c.len(), c.is_empty()), (2, false));
        let back = c.to_vec();
        assert_eq!(format!("{back:?}"), format!("{certs:?}"));
        assert_eq!(back[0].recipient_number_raw.as_deref(), Some("1774264"));
        assert_eq!(back[0].details[0].value, "潰瘍性大腸炎");
        let none = Fetched::new(&[], now, now, Origin::Upstream);
        assert!(none.certificates().is_empty());
        assert!(none.certificates().to_vec().is_empty());
        assert_eq!(none.held(), HEAD, "no certificates, no bytes for them");
        let shown = format!("{f:?}");
        assert!(shown.contains("certificates: 2"), "{shown}");
        for number in ["1774264", "54136015", "潰瘍性大腸炎"] {
            assert!(!shown.contains(number), "{shown}");
        }
    }

    /// The JSON fallback reads back the same certificates (it is taken only when postcard's
    /// encoding does not come back whole).
    #[test]
    fn certificates_kept_as_json_read_back_whole() {
        let certs = full();
        let json = Certs {
            bytes: &serde_json::to_vec(&certs).unwrap(),
            json: true,
        }
        .to_vec();
        assert_eq!(format!("{json:?}"), format!("{certs:?}"));
    }

    /// One buffer: the counts and 25 bytes beside the certificates' encoding (and the result
    /// file's name, when there is one); the times to the nanosecond and the origin whole.
    #[test]
    fn a_cached_answer_is_compact_and_keeps_its_times_and_origin() {
        assert_eq!(
            size_of::<Fetched>(),
            16,
            "a fat pointer in the cache's table"
        );
        let obtained = DateTime::parse_from_rfc3339("2026-11-21T09:59:58.123456789+09:00")
            .unwrap()
            .to_utc();
        let until = obtained + chrono::Duration::minutes(5);
        let certs = full();
        let encoded = encode(&certs).0.len();
        for (origin, extra) in [
            (Origin::Upstream, 0),
            (Origin::OnshiResult { file: None }, 0),
            (
                Origin::OnshiResult {
                    file: Some("OQSsiquc01res_20261121.xml".into()),
                },
                4 + 26,
            ),
        ] {
            let f = Fetched::new(&certs, obtained, until, origin.clone());
            assert_eq!((f.obtained_at(), f.fresh_until()), (obtained, until));
            assert_eq!(format!("{:?}", f.origin()), format!("{origin:?}"));
            assert_eq!(f.certificates().len(), 2);
            assert_eq!(f.held(), 25 + extra + encoded);
            let g = Fetched::new(&certs, obtained, until, origin);
            assert_ne!(f.id(), g.id(), "each answer its own id");
        }
        let far = DateTime::parse_from_rfc3339("2300-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let f = Fetched::new(&[], far, far, Origin::Upstream);
        assert!(f.obtained_at() > until, "beyond 2262: the nearest end");
    }
}
