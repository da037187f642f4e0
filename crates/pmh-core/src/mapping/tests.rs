use chrono::NaiveDate;

use super::*;
use crate::domain::check_digit::complete;
use crate::domain::{Certificate, DesignatedInstitution, Yen};
use crate::masters::CopayMethod;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn ctx() -> VisitContext {
    VisitContext {
        institution: Some(MedicalInstitutionCode::parse("1311111111").unwrap()),
        ..VisitContext::on(ServiceDate::new(d(2026, 11, 21)))
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
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    let m = map(&[cert(&payer("12")), cert(&payer("21"))], &masters, &ctx());
    assert_eq!(laws(&m), ["21", "12"]);
    assert_eq!(m.active[0].order, Some(1));
    assert_eq!(m.active[1].order, Some(2));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn national_programmes_come_before_local_ones() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    let maru_sho = complete("8013601").unwrap();
    let m = map(&[cert(&maru_sho), cert(&payer("54"))], &masters, &ctx());
    assert_eq!(laws(&m), ["54", "80"]);
    assert_eq!(m.active[1].programme.kind, ProgrammeKind::Local);
    assert_eq!(m.active[1].programme.short_name.as_deref(), Some("マル障"));
}

#[test]
fn expired_and_future_certificates_are_reported_not_applied() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
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
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
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
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
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
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
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
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
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
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
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
    use crate::domain::{Beneficiary, InsuranceKind};
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
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

// ---- Rule resolution: golden cases from the programmes' published caps and rates and Tokyo's マル子 rules (sources in masters/README.md) ----

fn with_class(law: &str, segment: &str, conditions: &[&str]) -> Certificate {
    let mut c = cert(&payer(law));
    c.income_segment = Some(segment.into());
    c.additional_conditions = conditions.iter().map(|s| (*s).to_owned()).collect();
    c
}

fn monthly_cap(s: &MappedSubsidy) -> Option<u64> {
    s.copay.caps.per_month.map(|y| y.0)
}

fn codes(s: &MappedSubsidy) -> Vec<WarningCode> {
    s.warnings.iter().map(|w| w.code).collect()
}

#[test]
fn nanbyou_caps_by_income_class_and_condition() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    for (segment, conditions, cap) in [
        ("生活保護", &[][..], 0),
        ("低所得Ⅰ", &[], 2_500),
        ("低所得Ⅱ", &[], 5_000),
        ("一般所得Ⅰ", &[], 10_000),
        ("一般所得Ⅱ", &[], 20_000),
        ("上位所得", &[], 30_000),
        ("一般所得Ⅰ", &["01-1"], 5_000),
        ("一般所得Ⅱ", &["01-1"], 10_000),
        ("上位所得", &["01-1"], 20_000),
        ("上位所得", &["02-1"], 1_000),
        // Both conditions: the lower cap (人工呼吸器等) applies.
        ("上位所得", &["01-1", "02-1"], 1_000),
    ] {
        let m = map(&[with_class("54", segment, conditions)], &masters, &ctx());
        let s = &m.active[0];
        assert_eq!(monthly_cap(s), Some(cap), "54 {segment} {conditions:?}");
        assert_eq!(s.copay.source, CapsSource::MasterIncomeClass);
        assert_eq!(s.copay.rate_percent, Some(20));
        assert!(s.copay.monthly_cap_shared);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }
}

#[test]
fn shoman_caps_by_income_class_including_severe_and_ventilator() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    for (segment, conditions, cap, name) in [
        ("低所得Ⅰ", &[][..], 1_250, None),
        ("一般所得Ⅰ", &[], 5_000, None),
        ("上位所得", &[], 15_000, None),
        ("一般所得Ⅰ", &["01-1"], 2_500, Some("重症")),
        ("上位所得", &["01-1"], 10_000, Some("重症")),
        ("一般所得Ⅱ", &["02-1"], 500, Some("人工呼吸器等装着者")),
    ] {
        let m = map(&[with_class("52", segment, conditions)], &masters, &ctx());
        let s = &m.active[0];
        assert_eq!(monthly_cap(s), Some(cap), "52 {segment} {conditions:?}");
        assert_eq!(s.copay.condition_name.as_deref(), name);
    }
}

#[test]
fn jiritsu_caps_by_income_class() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    for law in ["15", "16", "21"] {
        let cap = |segment, conditions: &[&str]| {
            let m = map(&[with_class(law, segment, conditions)], &masters, &ctx());
            (monthly_cap(&m.active[0]), codes(&m.active[0]))
        };
        assert_eq!(cap("生活保護", &[]), (Some(0), vec![]));
        assert_eq!(cap("低所得1", &[]), (Some(2_500), vec![]));
        assert_eq!(cap("低所得2", &[]), (Some(5_000), vec![]));
        // No cap of its own without 重度かつ継続: 高額療養費 applies, and that is not a doubt.
        assert_eq!(cap("中間所得2", &[]), (None, vec![]));
        assert_eq!(cap("中間所得1", &["01-1"]), (Some(5_000), vec![]));
        assert_eq!(cap("中間所得2", &["01-1"]), (Some(10_000), vec![]));
        assert_eq!(cap("一定所得以上", &["01-1"]), (Some(20_000), vec![]));
        // Outside the programme unless 重度かつ継続: said, not guessed.
        assert_eq!(
            cap("一定所得以上", &[]),
            (
                None,
                vec![WarningCode::IncomeClassUnknown, WarningCode::CapUnknown]
            )
        );
    }
}

#[test]
fn the_certificate_cap_wins_and_a_conflict_is_warned() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    let mut c = with_class("54", "一般所得Ⅰ", &[]);
    c.max_copayment.outpatient.per_month = Some(Yen(5_000));
    let m = map(std::slice::from_ref(&c), &masters, &ctx());
    let s = &m.active[0];
    assert_eq!(monthly_cap(s), Some(5_000));
    assert_eq!(s.copay.source, CapsSource::Certificate);
    assert_eq!(codes(s), [WarningCode::CapConflict]);
    assert!(s.warnings[0].message.contains("10000 円"));

    c.max_copayment.outpatient.per_month = Some(Yen(10_000));
    let m = map(&[c], &masters, &ctx());
    assert!(m.active[0].warnings.is_empty());
    assert_eq!(m.active[0].copay.source, CapsSource::Certificate);
}

fn maru_ko(cert_cap: bool) -> Certificate {
    let mut c = cert("88131248");
    if cert_cap {
        c.max_copayment.outpatient.per_visit = Some(Yen(200));
    }
    c
}

#[test]
fn maru_ko_charges_200_yen_at_the_clinic_and_nothing_at_the_pharmacy() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    for with_cert in [false, true] {
        let clinic = map(&[maru_ko(with_cert)], &masters, &ctx());
        let s = &clinic.active[0];
        assert_eq!(s.copay.method, Some(CopayMethod::PerVisit));
        assert_eq!(s.copay.amount, Some(Yen(200)));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);

        let mut at_pharmacy = ctx();
        at_pharmacy.claim = Claim::Pharmacy;
        let pharmacy = map(&[maru_ko(with_cert)], &masters, &at_pharmacy);
        let s = &pharmacy.active[0];
        assert_eq!(s.copay.method, Some(CopayMethod::Free));
        assert_eq!(s.copay.amount, None);
        assert!(s.copay.caps.is_empty(), "{:?}", s.copay.caps);
        assert_eq!(s.copay.source, CapsSource::MasterProgramme);
        assert_eq!(s.ko.layout, Claim::Pharmacy);

        let mut inpatient = ctx();
        inpatient.care = Care::Inpatient;
        let m = map(&[maru_ko(with_cert)], &masters, &inpatient);
        assert_eq!(m.active[0].copay.method, Some(CopayMethod::Free));
    }
}

#[test]
fn local_rules_by_income_class_counts_and_age() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    let tateyama = cert("88122056");
    let m = map(std::slice::from_ref(&tateyama), &masters, &ctx());
    let s = &m.active[0];
    assert_eq!(s.programme.short_name.as_deref(), Some("子ども"));
    assert_eq!(
        (
            s.copay.method,
            s.copay.amount,
            s.copay.charged_times_per_month
        ),
        (Some(CopayMethod::PerVisit), Some(Yen(300)), Some(5))
    );
    let mut exempt = tateyama.clone();
    exempt.income_segment = Some("非課税".into());
    let m = map(&[exempt], &masters, &ctx());
    assert_eq!(m.active[0].copay.method, Some(CopayMethod::Free));

    // Tokyo マル障 1割 by the prefix rule: a rate with monthly caps per setting.
    let maru_sho = cert(&complete("8013601").unwrap());
    let m = map(std::slice::from_ref(&maru_sho), &masters, &ctx());
    assert_eq!(m.active[0].copay.rate_percent, Some(10));
    assert_eq!(monthly_cap(&m.active[0]), Some(18_000));

    // マル子 is for 年度年齢 6–14: a 16-year-old is warned about, still listed.
    let mut visit = ctx();
    visit.birthdate = Some(d(2010, 6, 1));
    let m = map(&[maru_ko(false)], &masters, &visit);
    assert_eq!(codes(&m.active[0]), [WarningCode::AgeOutsideProgramme]);
    visit.birthdate = Some(d(2016, 6, 1));
    let m = map(&[maru_ko(false)], &masters, &visit);
    assert!(m.active[0].warnings.is_empty());
}

#[test]
fn settings_a_programme_does_not_cover_are_warned() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    // 結核入院 (11) covers 入院 only.
    let m = map(&[cert(&payer("11"))], &masters, &ctx());
    assert_eq!(codes(&m.active[0]), [WarningCode::SettingNotCovered]);
    assert_eq!(m.active[0].copay.method, None, "unknown, not free");
    let mut inpatient = ctx();
    inpatient.care = Care::Inpatient;
    let m = map(&[cert(&payer("11"))], &masters, &inpatient);
    assert!(m.active[0].warnings.is_empty());
    assert_eq!(m.active[0].copay.method, Some(CopayMethod::Free));
}

#[test]
fn calculation_module_codes_are_looked_up_most_specific_first() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    let code = |c: Certificate| {
        let m = map(&[c], &masters, &ctx());
        let k = m.active[0].calc_codes.clone().unwrap();
        format!(
            "{}/{}/{}",
            k.subsidy_code, k.income_class_code, k.condition_code
        )
    };
    assert_eq!(code(with_class("54", "一般所得Ⅰ", &["01-1"])), "054/04/1");
    assert_eq!(code(with_class("54", "上位所得", &["02-1"])), "054/06/2");
    assert_eq!(code(with_class("54", "上位所得", &[])), "054/06/0");
    // An unknown condition falls back to the class's general row.
    assert_eq!(code(with_class("54", "上位所得", &["09-9"])), "054/06/0");
    assert_eq!(code(with_class("21", "中間所得2", &["01-1"])), "021/05/1");
    assert_eq!(code(cert(&payer("10"))), "010/00/0");
    assert_eq!(code(cert("88131248")), "L13002/00/0");
    let mut exempt = cert("88122056");
    exempt.income_segment = Some("非課税".into());
    assert_eq!(code(exempt), "L12001/07/0");
}

#[test]
fn ko_identity_fields_in_record_order() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    let m = map(&[cert(&payer("54"))], &masters, &ctx());
    let ko = &m.active[0].ko;
    let fields: Vec<(&str, &str)> = ko
        .fields
        .iter()
        .map(|f| (f.name, f.value.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("負担者番号", payer("54").as_str()),
            ("受給者番号", complete("123456").unwrap().as_str()),
            ("任意給付区分", ""),
        ]
    );
    let mut law30 = cert(&payer("30"));
    law30.recipient_number_raw = None;
    let m = map(&[law30], &masters, &ctx());
    assert_eq!(m.active[0].ko.fields[1].value, "");
    assert!(
        m.active[0].warnings.is_empty(),
        "{:?}",
        m.active[0].warnings
    );

    let mut long = cert("88131248");
    long.recipient_number_raw = Some("A-0012345678".into());
    let m = map(&[long], &masters, &ctx());
    assert_eq!(
        codes(&m.active[0]),
        [WarningCode::RecipientNumberNotReceiptable]
    );
    assert_eq!(m.active[0].ko.fields[1].value, "A-0012345678", "never cut");
}

#[test]
fn burden_codes_cover_every_payer_combination_of_the_visit() {
    let masters = MasterSnapshot::embedded_at(chrono::DateTime::UNIX_EPOCH);
    let two = [cert(&payer("21")), cert(&payer("12"))];
    let m = map(&two, &masters, &ctx());
    let table: Vec<(String, char)> = m
        .burden_codes
        .iter()
        .map(|e| (e.payers.label(), e.code.as_ref().unwrap().code))
        .collect();
    let expect = [
        ("医保", '1'),
        ("公1", '5'),
        ("医保+公1", '2'),
        ("公2", '6'),
        ("医保+公2", '3'),
        ("公1+公2", '7'),
        ("医保+公1+公2", '4'),
    ];
    assert_eq!(table, expect.map(|(l, c)| (l.to_owned(), c)).to_vec());
    let mut public_only = ctx();
    public_only.insurance = Some(InsuranceContext {
        kind: InsuranceKind::None,
        beneficiary: crate::domain::Beneficiary::Insured,
    });
    let m = map(&two, &masters, &public_only);
    let labels: Vec<String> = m.burden_codes.iter().map(|e| e.payers.label()).collect();
    assert_eq!(labels, ["公1", "公2", "公1+公2"]);
}
