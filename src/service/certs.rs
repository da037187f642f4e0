//! The certificates of a cached answer, kept compact: encoded (postcard) in one allocation
//! instead of parsed structs (a `Certificate` is 400 bytes before its strings, and its strings
//! are allocations of their own) — a cached person's largest part. They are decoded when a
//! mapping is made, which the mapping memo does once per cached answer, visit setting and
//! masters snapshot, and when the answer is kept in the durable state.
//!
//! An encoding is checked by decoding it once when it is made; one that does not come back whole
//! is not used (the parsed certificates are kept instead), so decoding later cannot fail.

use crate::domain::Certificate;

/// Sixteen bytes in place (a test holds it to that): the encoding with its length, or a boxed
/// vector when the encoding failed. No certificates: an empty encoding, no allocation.
pub(super) enum Certs {
    Encoded(Box<[u8]>),
    // A thin pointer, so that the enum fits in the encoding's 16 bytes (a boxed slice would not).
    #[allow(clippy::box_collection)]
    Parsed(Box<Vec<Certificate>>),
}

/// Personal data: the count only.
impl std::fmt::Debug for Certs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certs({} certificates)", self.len())
    }
}

impl Certs {
    pub(super) fn new(certificates: Vec<Certificate>) -> Self {
        if certificates.is_empty() {
            return Self::Encoded(Box::default());
        }
        let encoded = postcard::to_allocvec(&certificates).ok().filter(|b| {
            postcard::from_bytes::<Vec<Certificate>>(b)
                .is_ok_and(|back| back.len() == certificates.len())
        });
        match encoded {
            Some(bytes) => Self::Encoded(bytes.into_boxed_slice()),
            None => {
                tracing::warn!("certificates could not be encoded compactly; kept as parsed");
                Self::Parsed(Box::new(certificates))
            }
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many: an encoding starts with its count (postcard's sequence length).
    pub(super) fn len(&self) -> usize {
        match self {
            Self::Encoded(bytes) if bytes.is_empty() => 0,
            Self::Encoded(bytes) => postcard::take_from_bytes::<usize>(bytes)
                .map(|(n, _)| n)
                .expect("an encoding is used only once it has decoded"),
            Self::Parsed(c) => c.len(),
        }
    }

    /// The certificates, as parsed.
    pub(super) fn to_vec(&self) -> Vec<Certificate> {
        match self {
            Self::Encoded(bytes) if bytes.is_empty() => Vec::new(),
            Self::Encoded(bytes) => {
                postcard::from_bytes(bytes).expect("an encoding is used only once it has decoded")
            }
            Self::Parsed(c) => (**c).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::{CertificateDetail, DesignatedInstitution};

    #[test]
    fn certificates_come_back_whole_from_their_encoding() {
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
        let certs = Certs::new(vec![a.clone(), b.clone()]);
        assert!(matches!(certs, Certs::Encoded(_)));
        assert_eq!((certs.len(), certs.is_empty()), (2, false));
        let back = certs.to_vec();
        assert_eq!(format!("{back:?}"), format!("{:?}", vec![a, b]));
        assert_eq!(back[0].recipient_number_raw.as_deref(), Some("1774264"));
        assert_eq!(back[0].details[0].value, "潰瘍性大腸炎");
        assert!(Certs::new(Vec::new()).is_empty());
        assert!(Certs::new(Vec::new()).to_vec().is_empty());
        assert_eq!(size_of::<Certs>(), 16);
        assert_eq!(
            format!("{certs:?}"),
            "Certs(2 certificates)",
            "no number in Debug"
        );
    }
}
