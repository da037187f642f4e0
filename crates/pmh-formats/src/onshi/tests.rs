use super::*;
use pmh_core::domain::{Beneficiary, InsuranceContext, InsuranceKind, MedicalInstitutionCode};

const SAMPLE: &str = include_str!("../../../../tests/fixtures/onshi/face_result_synthetic.xml");

fn sjis_copy(utf8: &str) -> Vec<u8> {
    let text = utf8
        .replace("encoding=\"UTF-8\"", "encoding=\"Shift_JIS\"")
        .replace("<CharacterCodeIdentifier>0<", "<CharacterCodeIdentifier>1<");
    encode(&text, Charset::ShiftJis).unwrap()
}

#[test]
fn the_sample_yields_its_identity_and_consent_flags() {
    let r = OnshiResult::parse(SAMPLE.as_bytes()).unwrap();
    assert_eq!(r.charset, Charset::Utf8);
    assert_eq!(r.processing_result_status, "1");
    assert_eq!(r.qualification_validity.as_deref(), Some("1"));
    assert_eq!(
        r.header.medical_institution_code.as_deref(),
        Some("1311111111")
    );
    assert_eq!(
        r.header.reference_classification.as_deref(),
        Some("1"),
        "a card (face) result"
    );
    assert_eq!(r.results.len(), 1);
    let q = &r.results[0];
    let id = q.insured.as_ref().unwrap();
    assert_eq!(id.insurer_number(), "123456", "space padding removed");
    assert_eq!(id.symbol(), Some("12-34"));
    assert_eq!(id.number(), "4260");
    assert_eq!(id.branch(), Some("01"));
    assert_eq!(
        id.birthdate(),
        chrono::NaiveDate::from_ymd_opt(2001, 3, 27).unwrap()
    );
    let consent = |n: &str| q.consents.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
    assert_eq!(consent("PharmacistsInfoConsFlg"), Some(true));
    assert_eq!(consent("SpecificHealthCheckupsInfoConsFlg"), Some(true));
    assert_eq!(consent("DiagnosisInfoConsFlg"), Some(false));
    assert_eq!(
        consent("SpecificDiseasesCertificateRelatedConsFlg"),
        Some(false)
    );
    assert_eq!(q.family, Some(false));
    let person = q.person.as_ref().unwrap();
    assert_eq!(person.name.as_deref(), Some("診療　太郎"));
    assert_eq!(person.kana.as_deref(), Some("ｼﾝﾘｮｳ ﾀﾛｳ"));
    assert_eq!(person.sex, Some(pmh_core::domain::Sex::Male));
    assert_eq!(person.birthdate, id.birthdate());
    assert!(!format!("{q:?}").contains("太郎"));
    assert!(q.subsidies.is_none(), "no PMH block: absent, not empty");
    assert_eq!(
        q.insurance_context(),
        InsuranceContext {
            kind: InsuranceKind::HealthInsurance,
            beneficiary: Beneficiary::Insured
        }
    );
}

#[test]
fn shift_jis_and_utf8_copies_give_equal_results() {
    let a = OnshiResult::parse(SAMPLE.as_bytes()).unwrap();
    let b = OnshiResult::parse(&sjis_copy(SAMPLE)).unwrap();
    assert_eq!(b.charset, Charset::ShiftJis);
    assert_eq!(b.header.character_code, Some(Charset::ShiftJis));
    let (qa, qb) = (&a.results[0], &b.results[0]);
    assert_eq!(qa.insured, qb.insured);
    assert_eq!(qa.consents, qb.consents);
    assert_eq!(qa.insurance_context(), qb.insurance_context());
    assert_eq!(
        a.header.process_execution_time,
        b.header.process_execution_time
    );
    assert_eq!(a.processing_result_status, b.processing_result_status);
}

#[test]
fn missing_and_malformed_are_specific_errors() {
    let no_birth = SAMPLE.replace("<Birthdate>20010327</Birthdate>", "");
    assert_eq!(
        OnshiResult::parse(no_birth.as_bytes()).unwrap_err(),
        OnshiError::Missing("ResultOfQualificationConfirmation/Birthdate")
    );
    let no_status = SAMPLE.replace("<ProcessingResultStatus>1</ProcessingResultStatus>", "");
    assert_eq!(
        OnshiResult::parse(no_status.as_bytes()).unwrap_err(),
        OnshiError::Missing("MessageBody/ProcessingResultStatus")
    );
    assert!(matches!(
        OnshiResult::parse(b"<Other/>"),
        Err(OnshiError::WrongRoot(r)) if r == "Other"
    ));
    let truncated = &SAMPLE[..SAMPLE.len() / 2];
    assert!(matches!(
        OnshiResult::parse(truncated.as_bytes()),
        Err(OnshiError::Syntax { .. })
    ));
    let mismatched = SAMPLE.replace("</Sex1>", "</Sex2>");
    assert!(matches!(
        OnshiResult::parse(mismatched.as_bytes()),
        Err(OnshiError::Syntax { .. })
    ));
    let error = SAMPLE.replace("<SegmentOfResult>1<", "<SegmentOfResult>9<");
    assert!(matches!(
        OnshiResult::parse(error.as_bytes()),
        Err(OnshiError::ResultError { .. })
    ));
    // A personal value never appears in an error.
    let bad_birth = SAMPLE.replace("<Birthdate>20010327<", "<Birthdate>20011327<");
    let r = OnshiResult::parse(bad_birth.as_bytes()).unwrap();
    let e = r.results[0].insured.as_ref().unwrap_err();
    assert!(!e.contains("20011327"), "{e}");
}

#[test]
fn requests_are_written_in_either_encoding() {
    let insured = pmh_core::domain::InsuredIdentity::new(
        "123456",
        Some("記号1"),
        "4260",
        Some("01"),
        chrono::NaiveDate::from_ymd_opt(2001, 3, 27).unwrap(),
    )
    .unwrap();
    let req = QualificationRequest {
        confirmation_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        institution: MedicalInstitutionCode::parse("1311111111").unwrap(),
        arbitrary_file_identifier: "A00000000001".into(),
        insured,
        limit_consent: true,
    };
    assert_eq!(req.file_name(), "OQSsiquc01req_A00000000001.xml");
    for cs in [Charset::Utf8, Charset::ShiftJis] {
        let bytes = req.to_xml(cs).unwrap();
        let back = QualificationRequest::parse(&bytes).unwrap();
        assert_eq!(back.insured, req.insured);
        assert_eq!(
            (
                back.arbitrary_file_identifier.as_str(),
                back.confirmation_date,
                back.limit_consent
            ),
            ("A00000000001", req.confirmation_date, true)
        );
        let (text, found) = decode::decode(&bytes).unwrap();
        assert_eq!(found, cs);
        let root = tree::parse(&text).unwrap();
        let info = root
            .child("MessageBody")
            .and_then(|b| b.child("QualificationConfirmSearchInfo"))
            .unwrap();
        assert_eq!(info.child("InsurerNumber").unwrap().text, "  123456");
        assert_eq!(info.text_of("InsuredCardSymbol"), Some("記号1"));
        assert_eq!(info.text_of("Birthdate"), Some("20010327"));
        assert_eq!(
            info.text_of("LimitApplicationCertificateRelatedConsFlg"),
            Some("1")
        );
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let _ = OnshiResult::parse(&bytes);
        }

        #[test]
        fn mutated_samples_never_panic(
            at in 0..SAMPLE.len(),
            len in 0usize..64,
            junk in prop::collection::vec(any::<u8>(), 0..16),
        ) {
            let mut bytes = SAMPLE.as_bytes().to_vec();
            let end = (at + len).min(bytes.len());
            bytes.splice(at..end, junk);
            let _ = OnshiResult::parse(&bytes);
        }
    }
}

#[test]
fn an_element_naming_a_my_number_is_noticed_not_read() {
    let text = SAMPLE.replace(
        "<Sex1>1</Sex1>",
        "<Sex1>1</Sex1><MyNumber>123456789012</MyNumber>",
    );
    let r = OnshiResult::parse(text.as_bytes()).unwrap();
    assert_eq!(r.my_number_element.as_deref(), Some("MyNumber"));
    assert!(!format!("{r:?}").contains("123456789012"));
    assert_eq!(
        OnshiResult::parse(SAMPLE.as_bytes())
            .unwrap()
            .my_number_element,
        None
    );
}

#[test]
fn an_unreadable_cap_in_the_block_is_reported_not_dropped() {
    let block = "<MedicalSubsidyResultList><MedicalSubsidyInfo>\
        <MedicalSubsidyInsurerNumber>54136015</MedicalSubsidyInsurerNumber>\
        <MaxCopaymentAmount><Outpatient><PerMonth>1万円</PerMonth><PerVisit>500</PerVisit></Outpatient></MaxCopaymentAmount>\
        </MedicalSubsidyInfo></MedicalSubsidyResultList>";
    let text = SAMPLE.replace("<PostNumber>", &format!("{block}<PostNumber>"));
    let r = OnshiResult::parse(text.as_bytes()).unwrap();
    let certs = r.results[0].certificates().unwrap();
    assert_eq!(
        certs[0].unreadable,
        ["maxCopaymentAmount.outpatient.perMonth"]
    );
    assert_eq!(
        certs[0].max_copayment.outpatient.per_visit,
        Some(pmh_core::domain::Yen(500)),
        "the readable caps are kept"
    );
    let mapped = pmh_core::mapping::map(
        &certs,
        &pmh_core::masters::MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH),
        &pmh_core::mapping::VisitContext::on(pmh_core::domain::ServiceDate::new(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        )),
    );
    let all = mapped.active.iter().chain(&mapped.inactive);
    assert!(
        all.flat_map(|s| &s.warnings)
            .any(|w| w.code == pmh_core::mapping::WarningCode::CertificateFieldUnreadable),
        "{mapped:?}"
    );
}

/// Values quoted from a file into an error (an entity or element name, an encoding, an error
/// code) reach logs, reason files and answers: escaped, and cut short.
#[test]
fn errors_quote_a_file_escaped_and_short() {
    let esc = "\u{1b}[31m";
    let long = "x".repeat(5000);
    for xml in [
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><MessageHeader>&{esc}evil;</MessageHeader></XmlMsg>"
        ),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><MessageHeader>&{long};</MessageHeader></XmlMsg>"
        ),
        format!("<?xml version=\"1.0\" encoding=\"{esc}x\"?><XmlMsg/>"),
        format!("<Xml{esc}Msg/>"),
        format!("<Root\u{202e}{long}/>"),
        format!(
            "<XmlMsg><MessageHeader><SegmentOfResult>9</SegmentOfResult><ErrorCode>{esc}{long}</ErrorCode></MessageHeader><MessageBody/></XmlMsg>"
        ),
    ] {
        let e = OnshiResult::parse(xml.as_bytes()).unwrap_err().to_string();
        assert!(!e.contains('\u{1b}') && !e.contains('\u{202e}'), "{e}");
        assert!(e.chars().count() < 400, "{} characters", e.chars().count());
    }
}
