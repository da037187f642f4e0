//! オン資 request messages (`OQSsiquc01req_<id>.xml`): a qualification check for one insured
//! person, written in UTF-8 or Shift_JIS with a matching XML declaration.

use chrono::NaiveDate;

use super::OnshiError;
use super::decode::{Charset, decode, encode};
use super::tree;
use pmh_core::domain::date::parse_compact;
use pmh_core::domain::{InsuredIdentity, MedicalInstitutionCode};

#[derive(Debug, Clone)]
pub struct QualificationRequest {
    pub confirmation_date: NaiveDate,
    pub institution: MedicalInstitutionCode,
    /// 12 characters, the `<id>` of the file name; the result comes back under the same id.
    pub arbitrary_file_identifier: String,
    pub insured: InsuredIdentity,
    /// Ask for 限度額適用 (高額療養費) information too.
    pub limit_consent: bool,
}

impl QualificationRequest {
    pub fn file_name(&self) -> String {
        format!("OQSsiquc01req_{}.xml", self.arbitrary_file_identifier)
    }

    /// The result's file name for this request.
    pub fn result_file_name(&self) -> String {
        format!("OQSsiquc01res_{}.xml", self.arbitrary_file_identifier)
    }

    /// Reads a request file (the sandbox terminal answers them). The identity's and header's
    /// problems are errors naming the element, never its value.
    pub fn parse(bytes: &[u8]) -> Result<Self, OnshiError> {
        let (text, _) = decode(bytes)?;
        let root = tree::parse(&text)?;
        if root.name != "XmlMsg" {
            return Err(OnshiError::WrongRoot(root.name));
        }
        let h = root
            .child("MessageHeader")
            .ok_or(OnshiError::Missing("XmlMsg/MessageHeader"))?;
        let info = root
            .child("MessageBody")
            .and_then(|b| b.child("QualificationConfirmSearchInfo"))
            .ok_or(OnshiError::Missing(
                "MessageBody/QualificationConfirmSearchInfo",
            ))?;
        let need = |e: &'_ tree::Element, name: &str, path: &'static str| {
            e.raw_text_of(name)
                .filter(|t| !t.trim().is_empty())
                .map(str::to_owned)
                .ok_or(OnshiError::Missing(path))
        };
        let date = |t: String, path: &'static str| {
            parse_compact(t.trim()).map_err(|_| OnshiError::Missing(path))
        };
        let confirmation_date = date(
            need(
                h,
                "QualificationConfirmationDate",
                "MessageHeader/QualificationConfirmationDate",
            )?,
            "MessageHeader/QualificationConfirmationDate",
        )?;
        let institution = MedicalInstitutionCode::parse(
            need(
                h,
                "MedicalInstitutionCode",
                "MessageHeader/MedicalInstitutionCode",
            )?
            .trim(),
        )
        .map_err(|_| OnshiError::Missing("MessageHeader/MedicalInstitutionCode"))?;
        let arbitrary_file_identifier = need(
            h,
            "ArbitraryFileIdentifier",
            "MessageHeader/ArbitraryFileIdentifier",
        )?
        .trim()
        .to_owned();
        let birth = date(
            need(
                info,
                "Birthdate",
                "QualificationConfirmSearchInfo/Birthdate",
            )?,
            "QualificationConfirmSearchInfo/Birthdate",
        )?;
        let insured = InsuredIdentity::new(
            &need(
                info,
                "InsurerNumber",
                "QualificationConfirmSearchInfo/InsurerNumber",
            )?,
            info.text_of("InsuredCardSymbol"),
            &need(
                info,
                "InsuredIdentificationNumber",
                "QualificationConfirmSearchInfo/InsuredIdentificationNumber",
            )?,
            info.text_of("InsuredBranchNumber"),
            birth,
        )
        .map_err(|_| OnshiError::Missing("QualificationConfirmSearchInfo (identity)"))?;
        Ok(Self {
            confirmation_date,
            institution,
            arbitrary_file_identifier,
            insured,
            limit_consent: info.text_of("LimitApplicationCertificateRelatedConsFlg") == Some("1"),
        })
    }

    pub fn to_xml(&self, charset: Charset) -> Result<Vec<u8>, OnshiError> {
        use quick_xml::escape::escape;
        let i = &self.insured;
        // オン資 pads a 6-digit 国保 insurer number to 8 with leading spaces.
        let insurer = format!("{:>8}", i.insurer_number());
        let opt = |name: &str, v: Option<&str>| {
            v.map(|v| format!("      <{name}>{}</{name}>\n", escape(v)))
                .unwrap_or_default()
        };
        let text = format!(
            "<?xml version=\"1.0\" encoding=\"{enc}\"?>\n<XmlMsg>\n  <MessageHeader>\n    <QualificationConfirmationDate>{date}</QualificationConfirmationDate>\n    <MedicalInstitutionCode>{inst}</MedicalInstitutionCode>\n    <ArbitraryFileIdentifier>{id}</ArbitraryFileIdentifier>\n  </MessageHeader>\n  <MessageBody>\n    <QualificationConfirmSearchInfo>\n      <InsurerNumber>{insurer}</InsurerNumber>\n{symbol}      <InsuredIdentificationNumber>{number}</InsuredIdentificationNumber>\n{branch}      <Birthdate>{birth}</Birthdate>\n      <LimitApplicationCertificateRelatedConsFlg>{limit}</LimitApplicationCertificateRelatedConsFlg>\n    </QualificationConfirmSearchInfo>\n  </MessageBody>\n</XmlMsg>\n",
            enc = charset.xml_name(),
            date = self.confirmation_date.format("%Y%m%d"),
            inst = self.institution.as_str(),
            id = escape(self.arbitrary_file_identifier.as_str()),
            symbol = opt("InsuredCardSymbol", i.symbol()),
            number = escape(i.number()),
            branch = opt("InsuredBranchNumber", i.branch()),
            birth = i.birthdate().format("%Y%m%d"),
            limit = u8::from(self.limit_consent),
        );
        encode(&text, charset)
    }
}
