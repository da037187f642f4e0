use chrono::NaiveDate;

use super::*;
use crate::domain::check_digit::complete;
use crate::domain::{Certificate, DesignatedInstitution};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn ctx() -> VisitContext {
    VisitContext {
        service_date: ServiceDate::new(d(2026, 11, 21)),
        claim: Claim::Medical,
        care: Care::Outpatient,
        institution: Some(MedicalInstitutionCode::parse("1311111111").unwrap()),
        insurance: None,
        birthdate: None,
    }
}

/// A valid payer number for 法別 `law` in Tokyo.
fn payer(law: &str) -> String {
    complete(&format!("{law}13001")).unwrap()
}

fn cert(payer: &str) -> Certificate {
    Certificate::simple(
        payer,
        Some(&complete("123456").unwrap()),
        d(2026, 4, 1),
        d(2027, 3, 31),
    )
}

fn laws(m: &Mapped) -> Vec<String> {
    m.active
        .iter()
        .map(|s| s.payer_number[..2].to_owned())
        .collect()
}

#[test]
fn psychiatric_outpatient_comes_before_public_assistance() {
    let masters = MasterSnapshot::embedded();
    let m = map(&[cert(&payer("12")), cert(&payer("21"))], &masters, &ctx());
    assert_eq!(laws(&m), ["21", "12"]);
    assert_eq!(m.active[0].order, Some(1));
    assert_eq!(m.active[1].order, Some(2));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn national_programmes_come_before_local_ones() {
    let masters = MasterSnapshot::embedded();
    let maru_sho = complete("8013601").unwrap();
    let m = map(&[cert(&maru_sho), cert(&payer("54"))], &masters, &ctx());
    assert_eq!(laws(&m), ["54", "80"]);
    assert_eq!(m.active[1].programme.kind, ProgrammeKind::Local);
    assert_eq!(m.active[1].programme.short_name.as_deref(), Some("マル障"));
}

#[test]
fn expired_and_future_certificates_are_reported_not_applied() {
    let masters = MasterSnapshot::embedded();
    let mut old = cert(&payer("54"));
    old.validity = Ok(Validity {
        from: Some(d(2024, 4, 1)),
        to: Some(d(2025, 3, 31)),
    });
    let mut future = cert(&payer("52"));
    future.validity = Ok(Validity {
        from: Some(d(2027, 1, 1)),
        to: None,
    });
    let m = map(&[old, future, cert(&payer("21"))], &masters, &ctx());
    assert_eq!(laws(&m), ["21"]);
    let statuses: Vec<_> = m.inactive.iter().map(|s| s.status).collect();
    // Inactive subsidies keep the priority order too: 52 ranks before 54.
    assert_eq!(
        statuses,
        [SubsidyStatus::NotYetValid, SubsidyStatus::Expired]
    );
    assert!(m.inactive.iter().all(|s| s.order.is_none()));
}

#[test]
fn bad_check_digits_become_warnings_on_that_subsidy() {
    let masters = MasterSnapshot::embedded();
    let good = payer("54");
    let bad_payer = format!("{}{}", &good[..7], (good.as_bytes()[7] - b'0' + 1) % 10);
    let mut c = cert(&bad_payer);
    c.recipient_number_raw = Some("1234567".into());
    let m = map(&[c], &masters, &ctx());
    assert_eq!(m.active.len(), 1, "not dropped");
    let codes: Vec<_> = m.active[0].warnings.iter().map(|w| w.code).collect();
    assert_eq!(
        codes,
        [
            WarningCode::PayerNumberCheckDigit,
            WarningCode::RecipientNumberCheckDigit,
            // 54 caps by income class; this certificate names none and carries no cap.
            WarningCode::CapUnknown,
        ]
    );
    assert_eq!(
        m.active[0].programme.kind,
        ProgrammeKind::National,
        "placed by its 法別"
    );
    assert!(
        m.active[0]
            .warnings
            .iter()
            .all(|w| !w.message.contains("123456"))
    );
}

#[test]
fn flags_for_reimbursement_non_disclosure_and_designated_institutions() {
    let masters = MasterSnapshot::embedded();
    let mut c = cert(&payer("54"));
    c.always_reimbursement = true;
    c.not_disclosed = true;
    c.certification_name = Some("特定医療費（指定難病）受給者証".into());
    c.designated_institutions = vec![DesignatedInstitution {
        code: "1399999999".into(),
        name: None,
    }];
    let m = map(&[c], &masters, &ctx());
    let s = &m.active[0];
    assert_eq!(
        s.flags,
        [
            Flag::ReimbursementOnly,
            Flag::NotDisclosed,
            Flag::DesignatedInstitutionLimited,
            Flag::DesignatedInstitutionMismatch
        ]
    );
    assert_eq!(s.certification_name, None);
}

#[test]
fn single_only_combined_unknown_programmes_and_too_many() {
    let masters = MasterSnapshot::embedded();
    let mut certs = vec![cert(&payer("13")), cert(&payer("21"))];
    let m = map(&certs, &masters, &ctx());
    assert_eq!(laws(&m), ["13", "21"]);
    assert!(
        m.warnings
            .iter()
            .any(|w| w.code == WarningCode::SingleOnlyCombined)
    );

    certs = vec![cert(&complete("9913001").unwrap())];
    let m = map(&certs, &masters, &ctx());
    assert_eq!(m.active[0].programme.kind, ProgrammeKind::Unknown);
    assert_eq!(m.active[0].warnings[0].code, WarningCode::UnknownProgramme);

    certs = ["10", "15", "21", "52", "54"]
        .iter()
        .map(|l| cert(&payer(l)))
        .collect();
    let m = map(&certs, &masters, &ctx());
    assert_eq!(laws(&m), ["10", "21", "15", "52", "54"]);
    assert!(
        m.warnings
            .iter()
            .any(|w| w.code == WarningCode::TooManySubsidies)
    );
}

#[test]
fn law_30_has_no_recipient_number() {
    let masters = MasterSnapshot::embedded();
    let m = map(&[cert(&payer("30"))], &masters, &ctx());
    assert_eq!(
        m.active[0].warnings[0].code,
        WarningCode::RecipientNumberUnexpected
    );
    let mut c = cert(&payer("30"));
    c.recipient_number_raw = None;
    assert!(map(&[c], &masters, &ctx()).active[0].warnings.is_empty());
}

#[test]
fn ordering_is_deterministic_whatever_the_input_order() {
    let masters = MasterSnapshot::embedded();
    let mut certs: Vec<_> = ["12", "54", "21", "10"]
        .iter()
        .map(|l| cert(&payer(l)))
        .collect();
    certs.push(cert("88138243"));
    let first = laws(&map(&certs, &masters, &ctx()));
    for rot in 1..certs.len() {
        certs.rotate_left(1);
        assert_eq!(
            laws(&map(&certs, &masters, &ctx())),
            first,
            "rotation {rot}"
        );
        certs.reverse();
        assert_eq!(
            laws(&map(&certs, &masters, &ctx())),
            first,
            "reversed {rot}"
        );
    }
}

#[test]
fn receipt_type_follows_the_active_subsidies() {
    use receipt::{Beneficiary, InsuranceKind};
    let masters = MasterSnapshot::embedded();
    let mut c = ctx();
    c.insurance = Some(InsuranceContext {
        kind: InsuranceKind::HealthInsurance,
        beneficiary: Beneficiary::Insured,
    });
    let mut expired = cert(&payer("52"));
    expired.validity = Ok(Validity {
        from: Some(d(2024, 4, 1)),
        to: Some(d(2025, 3, 31)),
    });
    let m = map(&[cert(&payer("54")), expired], &masters, &c);
    assert_eq!(
        m.receipt_type.as_deref(),
        Some("1122"),
        "only the active subsidy counts"
    );
    c.insurance = Some(InsuranceContext {
        kind: InsuranceKind::None,
        beneficiary: Beneficiary::Insured,
    });
    let m = map(&[cert(&payer("12"))], &masters, &c);
    assert_eq!(m.receipt_type.as_deref(), Some("1212"));
    let m = map(&[], &masters, &c);
    assert_eq!(m.receipt_type, None);
    assert_eq!(m.warnings[0].code, WarningCode::ReceiptTypeUnavailable);
    assert_eq!(
        map(&[], &masters, &ctx()).receipt_type,
        None,
        "no insurance context, no type"
    );
}
