//! The charge routes: what a visit costs at the window (`POST /v1/charge-quotes`), committing it
//! to the monthly cap ledger (`POST /v1/charges`, `DELETE /v1/charges/{visit_id}`), the amounts
//! of other institutions from the paper 管理票 (`POST /v1/ledger-entries`) and a certificate's
//! month (`GET /v1/ledgers`). Every access is audited, the certificate as a keyed hash.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use super::AppState;
use super::audit;
use super::dto::{
    ChargeInsuranceDto, ChargePartDto, ChargeQuoteRequest, ChargeQuoteResponse, ChargeSubsidyDto,
    ChargeVisitDto, CommittedDto, InsuranceKindDto, KoAmountsDto, LedgerDto, LedgerEntryDto,
    LedgerEntryRequest, MealClassDto, MonthToDateDto, MonthTotalsDto, ReceiptAmountsDto,
    ReceiptMealsDto, SpecificDiseaseDto, VoidDto, WarningDto,
};
use super::problem::{FieldError, Problem};
use super::request::{json_body, parse_json};
use crate::auth::{Caller, Scope};
use crate::billing::{self, Books, Certificates, Committed, EntryVoided, Prepared};
use crate::charges::{
    Consultation, Described, Insurance, MealDay, Named, Part, Quote, Setting, SpecificDisease,
    Visit,
};
use crate::domain::{
    AgeFacts, AgeGroup, Care, Certificate, Claim, CopayCaps, HighCostClass, InsuranceKind,
    MaxCopayment, MedicalInstitutionCode, PayerNumber, Validity, Yen, date, hex, text,
};
use crate::masters::{MasterSnapshot, MealClass, segment_key};
use crate::store::{
    AuditRecord, EntryKey, KeyedHash, LedgerRow, NewLedgerEntry, Operation, VoidOutcome, month_key,
};

/// The most any amount typed into the API may be (a sanity bound, not a rule).
const MAX_AMOUNT: i64 = 1_000_000_000;

use audit::reject;

/// What is wrong with a charge request: fields that cannot be read (400) and fields that read
/// but do not fit together (422). Both are reported together; a request with a malformed field
/// is 400, one whose fields only do not fit together 422.
#[derive(Default)]
struct Found {
    malformed: Vec<FieldError>,
    inconsistent: Vec<FieldError>,
}

impl Found {
    /// A field that cannot be read.
    fn push(&mut self, e: FieldError) {
        self.malformed.push(e);
    }

    /// A field that reads, but does not fit with the others.
    fn unfit(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.inconsistent.push(FieldError {
            field: field.into(),
            reason: reason.into(),
        });
    }

    fn is_empty(&self) -> bool {
        self.malformed.is_empty() && self.inconsistent.is_empty()
    }

    fn into_problem(self) -> Problem {
        if self.malformed.is_empty() {
            Problem::inconsistent(self.inconsistent)
        } else {
            let mut all = self.malformed;
            all.extend(self.inconsistent);
            Problem::invalid(all)
        }
    }
}

/// Why a part cannot be read: a malformed field, or fields that do not fit together.
enum PartError {
    Bad(FieldError),
    Unfit(FieldError),
}

/// A visit id as the receipt computer chose it: 1–64 of `A-Z a-z 0-9 . _ : -`.
fn visit_id(field: &str, v: &str) -> Result<String, FieldError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(FieldError {
            field: field.into(),
            reason: "must be 1–64 of A-Z a-z 0-9 . _ : -".into(),
        })
    }
}

fn amount(field: &str, v: i64) -> Result<Yen, FieldError> {
    if v < 0 {
        Err(FieldError {
            field: field.into(),
            reason: "must not be negative".into(),
        })
    } else if v > MAX_AMOUNT {
        Err(FieldError {
            field: field.into(),
            reason: format!("is over {MAX_AMOUNT}"),
        })
    } else {
        Ok(Yen(v as u64))
    }
}

fn day(field: &str, v: &str) -> Result<NaiveDate, FieldError> {
    date::parse_iso(v).map_err(|e| FieldError {
        field: field.into(),
        reason: e.to_string(),
    })
}

fn day_or_push(field: &str, v: &str, errors: &mut Found) -> Option<NaiveDate> {
    day(field, v).map_err(|e| errors.push(e)).ok()
}

/// A warning of the request itself (code, message in Japanese), for the answer.
use crate::billing::ChargeNotice;

/// A notice on a charge: its code, Japanese for the clerk, English beside it.
type Notice = (ChargeNotice, String, String);

/// The insurance of the request for the month of `day` (the quoted visit's date, when it
/// parses): what the birthdate says, unless a flag given says otherwise (then a notice).
fn insurance(
    d: &ChargeInsuranceDto,
    day: Option<NaiveDate>,
    errors: &mut Found,
    notices: &mut Vec<Notice>,
) -> Option<Insurance> {
    let kind = match d.kind {
        InsuranceKindDto::HealthInsurance => InsuranceKind::HealthInsurance,
        InsuranceKindDto::LateElderly => InsuranceKind::LateElderly,
        InsuranceKindDto::None => InsuranceKind::None,
    };
    let facts = match (&d.birthdate, day) {
        (None, _) => None,
        (Some(b), day) => {
            let birth = day_or_push("insurance.birthdate", b, errors)?;
            match AgeFacts::of(birth, day?) {
                Some(f) => Some(f),
                None => {
                    errors.unfit("insurance.birthdate", "is after the visit's date");
                    return None;
                }
            }
        }
    };
    let mut from_birthdate = Vec::new();
    // 健康保険法 §74: 3割 from school age to 70; 2割 before school (未就学).
    let share_by_age = facts.and_then(|f| match kind {
        InsuranceKind::HealthInsurance if f.preschool => Some((20, "未就学 2割")),
        InsuranceKind::HealthInsurance if !f.seventy_plus => Some((30, "70歳未満 3割")),
        _ => None,
    });
    if let Some(s) = d.share_percent
        && ![10, 20, 30].contains(&s)
    {
        errors.push(FieldError {
            field: "insurance.share_percent".into(),
            reason: "is 10, 20 or 30".into(),
        });
        return None;
    }
    let share = match (kind, d.share_percent) {
        (InsuranceKind::None, None) => 0,
        (InsuranceKind::None, Some(_)) => {
            errors.unfit(
                "insurance.share_percent",
                "is not given without insurance (kind none)",
            );
            return None;
        }
        (_, Some(s)) => {
            if let Some((by_age, _)) = share_by_age.filter(|(a, _)| *a != s) {
                notices.push((
                    ChargeNotice::ShareDiffersFromBirthdate,
                    format!(
                        "負担割合 {}割 は生年月日から見た割合（{}割: 未就学は2割、70歳未満は3割）と異なります。指定のとおり計算しました。保険証・資格確認の結果を確認してください",
                        s / 10,
                        by_age / 10
                    ),
                    format!(
                        "the share given ({s}%) differs from the birthdate's ({by_age}%: 20% before school, 30% under 70): computed as given; check the insurance card or the eligibility check"
                    ),
                ));
            }
            s
        }
        (_, None) => match share_by_age {
            Some((s, why)) => {
                from_birthdate.push(why);
                s
            }
            None => {
                errors.unfit(
                    "insurance.share_percent",
                    "is required with insurance: 10, 20 or 30 (a birthdate gives it for a child or a patient under 70 on health insurance)",
                );
                return None;
            }
        },
    };
    // An オン資 code (A01–B10), or a receipt's 特記事項 code (26–35, 41–44; 31–35, 43, 44 also
    // 多数回).
    let given = d.high_cost_class.as_deref().map(str::trim);
    let (class, remark) = match given {
        None => (None, None),
        Some(code) => match (
            HighCostClass::parse(code),
            HighCostClass::from_receipt_remark(code),
        ) {
            (Ok(c), _) => (Some(c), None),
            (Err(_), Some((c, many))) => (Some(c), Some((code.to_owned(), many))),
            (Err(e), None) => {
                errors.push(FieldError {
                    field: "insurance.high_cost_class".into(),
                    reason: format!(
                        "{e}, or a receipt's 特記事項 code: 26–30 (区ア–区オ), 31–35 (多ア–多オ), 41, 42 (区カ, 区キ), 43, 44 (多カ, 多キ)"
                    ),
                });
                return None;
            }
        },
    };
    let seventy_plus = match (d.seventy_plus, facts) {
        (Some(given), Some(f)) if given != f.seventy_plus => {
            notices.push((
                ChargeNotice::AgeDiffersFromBirthdate,
                format!(
                    "70歳以上の指定（{}）が生年月日と異なります。指定のとおり計算しました。高齢受給者証・資格確認の結果を確認してください",
                    if given { "70歳以上" } else { "70歳未満" }
                ),
                format!(
                    "seventy_plus ({given}) differs from the birthdate: computed as given; check the 高齢受給者証 or the eligibility check"
                ),
            ));
            Some(given)
        }
        (Some(given), _) => Some(given),
        (None, Some(f)) => match class {
            Some(c) if (c.age_group() == AgeGroup::SeventyPlus) != f.seventy_plus => {
                notices.push((
                    ChargeNotice::AgeDiffersFromBirthdate,
                    format!(
                        "高額療養費の区分 {c} は生年月日から見た年齢（70歳{}）と合いません。区分のとおり計算しました",
                        if f.seventy_plus { "以上" } else { "未満" }
                    ),
                    format!(
                        "高額療養費 class {c} is for the other age group than the birthdate's ({}): computed by the class",
                        if f.seventy_plus { "70 or over" } else { "under 70" }
                    ),
                ));
                None
            }
            _ => {
                from_birthdate.push(if f.seventy_plus {
                    "70歳以上"
                } else {
                    "70歳未満"
                });
                Some(f.seventy_plus)
            }
        },
        (None, None) => None,
    };
    let turning_75 = match (d.turning_75, facts) {
        (Some(given), Some(f)) if given != f.turning_75 => {
            notices.push((
                ChargeNotice::AgeDiffersFromBirthdate,
                format!(
                    "75歳到達月の指定（{}）が生年月日と異なります（75歳の誕生日が1日以外の月が到達月です）。指定のとおり計算しました",
                    if given { "到達月" } else { "到達月でない" }
                ),
                format!(
                    "turning_75 ({given}) differs from the birthdate (the month of a 75th birthday that is not the 1st): computed as given"
                ),
            ));
            given
        }
        (Some(given), _) => given,
        (None, Some(f)) => {
            if f.turning_75 {
                from_birthdate.push("75歳到達月 (limits halved)");
            }
            f.turning_75
        }
        (None, None) => false,
    };
    match Insurance::new(kind, share, class, seventy_plus) {
        Ok(mut i) => {
            i.from_birthdate = from_birthdate;
            i.many_times = d.many_times || remark.as_ref().is_some_and(|r| r.1);
            i.class_given_as = remark.zip(class).map(|((code, many), c)| {
                format!(
                    "特記事項 {code} {}",
                    c.receipt_remark_label(many).unwrap_or_default()
                )
            });
            i.turning_75 = turning_75;
            i.meal_class = d.meal_class.map(meal_class);
            i.long_stay = d.long_stay;
            i.specific_disease = d.specific_disease.map(|s| match s {
                SpecificDiseaseDto::Standard => SpecificDisease::Standard,
                SpecificDiseaseDto::DialysisHighIncome => SpecificDisease::DialysisHighIncome,
            });
            Some(i)
        }
        // Each field read (the share was checked above): what is left is how they fit
        // together, a class for the other age group than the one given (422).
        Err(e) => {
            errors.unfit("insurance", e.to_string());
            None
        }
    }
}

/// A visit of the request: its parts in yen, their payers as the engine's indexes.
fn visit(
    masters: &MasterSnapshot,
    field: &str,
    d: &ChargeVisitDto,
    key: String,
    with_insurance: bool,
    errors: &mut Found,
) -> Option<Visit> {
    let date = day_or_push(&format!("{field}.date"), &d.date, errors)?;
    let claim: Claim = d.claim.map(Into::into).unwrap_or_default();
    let care: Care = d.care.map(Into::into).unwrap_or_default();
    if claim == Claim::Pharmacy && care == Care::Inpatient {
        errors.unfit(
            format!("{field}.care"),
            "a pharmacy (調剤) visit is outpatient",
        );
        return None;
    }
    if d.parts.is_empty() {
        errors.push(FieldError {
            field: format!("{field}.parts"),
            reason: "needs at least one part".into(),
        });
        return None;
    }
    let mut parts = Vec::new();
    for (i, p) in d.parts.iter().enumerate() {
        let f = format!("{field}.parts[{i}]");
        match part(masters, &f, p, with_insurance) {
            Ok(p) => parts.push(p),
            Err(PartError::Bad(e)) => errors.push(e),
            Err(PartError::Unfit(e)) => errors.inconsistent.push(e),
        }
    }
    let mut meals = Vec::new();
    for (i, m) in d.meals.iter().enumerate() {
        let f = format!("{field}.meals[{i}]");
        if !(1..=3).contains(&m.count) {
            errors.push(FieldError {
                field: format!("{f}.count"),
                reason: "is 1 to 3 meals a day".into(),
            });
        }
        if let Some(date) = day_or_push(&format!("{f}.date"), &m.date, errors) {
            meals.push(MealDay {
                date,
                count: m.count,
            });
        }
    }
    if !d.meals.is_empty() && care != Care::Inpatient {
        errors.unfit(
            format!("{field}.meals"),
            "are for an inpatient visit (care inpatient) only",
        );
        return None;
    }
    (parts.len() == d.parts.len() && meals.len() == d.meals.len()).then(|| Visit {
        id: key,
        date,
        setting: Setting::new(claim, care),
        parts,
        meals,
        consultation: Consultation {
            first_visit: d.first_visit,
            treatment_day: d.treatment_day.unwrap_or(true),
            joins_visit: d.joins_visit,
        },
    })
}

fn part(
    masters: &MasterSnapshot,
    f: &str,
    p: &ChargePartDto,
    with_insurance: bool,
) -> Result<Part, PartError> {
    let field = |field: &str, reason: String| FieldError {
        field: format!("{f}{field}"),
        reason,
    };
    let bad = |name: &str, reason: String| PartError::Bad(field(name, reason));
    let unfit = |name: &str, reason: String| PartError::Unfit(field(name, reason));
    let cost = match (p.points, p.yen) {
        (Some(points), None) => {
            let points = amount(&format!("{f}.points"), points).map_err(PartError::Bad)?;
            Yen(points.0 * 10)
        }
        (None, Some(yen)) => amount(&format!("{f}.yen"), yen).map_err(PartError::Bad)?,
        _ => {
            return Err(unfit(
                "",
                "give the cost as `points` or as `yen` (one of them)".into(),
            ));
        }
    };
    let subsidies: Vec<usize> = match (&p.subsidies, &p.burden_code) {
        (Some(_), Some(_)) => {
            return Err(unfit(
                "",
                "give `subsidies` or `burden_code`, not both".into(),
            ));
        }
        (Some(list), None) => {
            if list.iter().any(|o| !(1..=4).contains(o)) {
                return Err(bad(
                    ".subsidies",
                    "orders are 1 to 4 (第1公費 to 第4公費)".into(),
                ));
            }
            list.iter().map(|&o| usize::from(o) - 1).collect()
        }
        (None, Some(code)) => {
            let mut chars = code.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(bad(
                    ".burden_code",
                    "is one character, 0-9 or A-Z (負担区分)".into(),
                ));
            };
            if !(c.is_ascii_digit() || c.is_ascii_uppercase()) {
                return Err(bad(
                    ".burden_code",
                    "is one character, 0-9 or A-Z (負担区分)".into(),
                ));
            }
            // The document's pattern holds; the masters name the codes in use.
            let Some(payers) = masters.burden_payers(c) else {
                return Err(unfit(
                    ".burden_code",
                    "is not a 負担区分 code the masters know".into(),
                ));
            };
            if payers.insurance() != with_insurance {
                return Err(unfit(
                    ".burden_code",
                    if with_insurance {
                        "names a part without 医保, but the visit is insured: every part of an insured receipt has 医保".into()
                    } else {
                        "names 医保, but the insurance kind is none".into()
                    },
                ));
            }
            payers
                .subsidies()
                .into_iter()
                .map(|o| usize::from(o) - 1)
                .collect()
        }
        (None, None) => Vec::new(),
    };
    Ok(Part { cost, subsidies })
}

/// The certificates of the request: an earlier check's, or typed in.
fn certificates(
    req: &ChargeQuoteRequest,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Certificates, Problem> {
    match (&req.check_id, &req.subsidies) {
        (Some(_), Some(_)) | (None, None) => Err(Problem::inconsistent(vec![FieldError {
            field: "check_id".into(),
            reason: "give `check_id` (the subsidies of an earlier check) or `subsidies` (typed from paper certificates), one of them".into(),
        }])),
        (Some(check_id), None) => match super::request::check_id(check_id) {
            Some(id) => Ok(Certificates::Earlier(id.to_owned())),
            None => Err(Problem::invalid_field(
                "check_id",
                "is a check id (a UUID the gateway answered)",
            )),
        },
        (None, Some(list)) if list.len() > 4 => Err(Problem::invalid_field(
            "subsidies",
            "holds at most 4 certificates (第1公費 to 第4公費 on one receipt)",
        )),
        (None, Some(list)) => {
            let mut errors = Found::default();
            let mut out = Vec::new();
            for (i, s) in list.iter().enumerate() {
                let f = |name: &str| format!("subsidies[{i}].{name}");
                let recipient = s
                    .recipient_number
                    .as_deref()
                    .map(|r| super::request::recipient_number(&f("recipient_number"), r))
                    .transpose()
                    .map_err(|e| errors.push(e))
                    .ok()
                    .flatten();
                let Some(payer) = payer_number(&f("payer_number"), &s.payer_number, &mut errors)
                else {
                    continue;
                };
                let cap = s
                    .monthly_cap
                    .map(|c| amount(&f("monthly_cap"), c))
                    .transpose()
                    .map_err(|e| errors.push(e))
                    .ok()
                    .flatten();
                let own = s
                    .own_payment
                    .map(|c| amount(&f("own_payment"), c))
                    .transpose()
                    .map_err(|e| errors.push(e))
                    .ok()
                    .flatten();
                let caps = CopayCaps {
                    per_month: cap,
                    ..Default::default()
                };
                out.push(Named {
                    certificate: Certificate {
                        certificate_type_id: None,
                        certification_name: None,
                        payer_number_raw: payer.as_str().to_owned(),
                        payer_number: Ok(payer),
                        recipient_number_raw: recipient,
                        segment: None,
                        income_segment: s.income_class.clone(),
                        additional_conditions: s.conditions.clone().unwrap_or_default(),
                        designated_institutions: Vec::new(),
                        always_reimbursement: false,
                        not_disclosed: false,
                        max_copayment: MaxCopayment {
                            outpatient: caps,
                            inpatient: caps,
                        },
                        validity: Ok(Validity {
                            from: Some(first),
                            to: Some(last),
                        }),
                        details: Vec::new(),
                        unreadable: Vec::new(),
                    },
                    own_payment: own,
                });
            }
            if errors.is_empty() {
                Ok(Certificates::Typed(out))
            } else {
                Err(errors.into_problem())
            }
        }
    }
}

/// What the masters refuse in typed certificates (422): an income class the programme does not
/// have (never quoted without its cap), and a programme whose monthly cap is shared across
/// institutions without the recipient number its 管理票 ledger is kept under, unless the caller
/// says it keeps no ledger for it.
fn typed_against_masters(masters: &MasterSnapshot, req: &ChargeQuoteRequest) -> Vec<FieldError> {
    let mut unfit = Vec::new();
    for (i, s) in req.subsidies.iter().flatten().enumerate() {
        let Ok(payer) = PayerNumber::parse(&s.payer_number) else {
            continue;
        };
        let law = payer.law_code();
        let Some(national) = masters.national(law) else {
            continue;
        };
        if let (Some(class), Some(classes)) = (&s.income_class, masters.income_classes(law))
            && !classes.iter().any(|c| segment_key(c) == segment_key(class))
        {
            unfit.push(FieldError {
                field: format!("subsidies[{i}].income_class"),
                reason: format!(
                    "is not an income class of {} (法別 {law}); one of: {}",
                    national.short_name,
                    classes.join(", ")
                ),
            });
        }
        let recipient = s.recipient_number.as_deref().map(str::trim);
        if national.monthly_cap_shared && recipient.is_none_or(str::is_empty) && !s.no_ledger {
            unfit.push(FieldError {
                field: format!("subsidies[{i}].recipient_number"),
                reason: format!(
                    "is required for {} (its monthly cap is shared across institutions on a 管理票, kept under the recipient number); set `no_ledger` to quote without one",
                    national.short_name
                ),
            });
        }
    }
    unfit
}

/// SHA-256 of the request as parsed (keys sorted, no whitespace), without `correction`: the
/// same commit sent again is recognised whatever its formatting.
fn fingerprint(body: &[u8]) -> String {
    let mut v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("correction");
    }
    let canonical = serde_json::to_vec(&v).unwrap_or_default();
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &canonical).as_ref())
}

/// A charge request read into the core's terms (every field checked, each mistake named), with
/// the masters in force, for `billing::prepare`.
fn read(
    masters: &MasterSnapshot,
    body: &[u8],
    commit: bool,
) -> Result<billing::ChargeRequest, Problem> {
    let req: ChargeQuoteRequest = parse_json(body)?;
    let mut errors = Found::default();
    let mut notices = Vec::new();
    let ins = insurance(
        &req.insurance,
        date::parse_iso(&req.visit.date).ok(),
        &mut errors,
        &mut notices,
    );
    let with_insurance = ins.as_ref().is_none_or(|i| i.kind != InsuranceKind::None);
    let request_visit_id = match &req.visit.visit_id {
        Some(v) => visit_id("visit.visit_id", v)
            .map_err(|e| errors.push(e))
            .ok(),
        None if commit => {
            errors.push(FieldError {
                field: "visit.visit_id".into(),
                reason: "is required to commit a visit".into(),
            });
            None
        }
        None => None,
    };
    if req.correction.is_some() && !commit {
        errors.push(FieldError {
            field: "correction".into(),
            reason: "is not a field of a quote (POST /v1/charges only)".into(),
        });
    }
    let visit_key = request_visit_id
        .clone()
        .unwrap_or_else(|| "this-visit".to_owned());
    let this = visit(
        masters,
        "visit",
        &req.visit,
        visit_key.clone(),
        with_insurance,
        &mut errors,
    );
    let mut visits = Vec::new();
    let mut ids = HashSet::new();
    ids.insert(visit_key.clone());
    for (i, e) in req.earlier_visits.iter().enumerate() {
        let f = format!("earlier_visits[{i}]");
        let Some(id) = e.visit_id.as_deref() else {
            errors.push(FieldError {
                field: format!("{f}.visit_id"),
                reason: "is required for an earlier visit (so that a committed visit is not counted twice)".into(),
            });
            continue;
        };
        let Ok(id) = visit_id(&format!("{f}.visit_id"), id).map_err(|e| errors.push(e)) else {
            continue;
        };
        if !ids.insert(id.clone()) {
            errors.unfit(format!("{f}.visit_id"), "appears twice in the request");
            continue;
        }
        if let Some(v) = visit(masters, &f, e, id, with_insurance, &mut errors) {
            visits.push(v);
        }
    }
    if !errors.is_empty() {
        return Err(errors.into_problem());
    }
    let unfit = typed_against_masters(masters, &req);
    if !unfit.is_empty() {
        return Err(Problem::inconsistent(unfit));
    }
    let (ins, this) = (ins.expect("no errors"), this.expect("no errors"));
    let dates = visits.iter().chain([&this]).map(|v| v.date);
    let (first, last) = (
        dates.clone().min().unwrap_or(this.date),
        dates.max().unwrap_or(this.date),
    );
    Ok(billing::ChargeRequest {
        insurance: ins,
        visit: this,
        earlier: visits,
        visit_key,
        visit_id: request_visit_id,
        correction: req.correction.unwrap_or(false),
        fingerprint: fingerprint(body),
        certificates: certificates(&req, first, last)?,
        notices,
    })
}

/// A request read, then resolved with the masters in force and, when the gateway runs, its
/// books.
async fn prepare(
    masters: Arc<MasterSnapshot>,
    institution: Option<MedicalInstitutionCode>,
    books: Option<Books<'_>>,
    body: &[u8],
    commit: bool,
) -> Result<Prepared, Problem> {
    let req = read(&masters, body, commit)?;
    billing::prepare(masters, institution, books, req)
        .await
        .map_err(Problem::from)
}

/// A request read and resolved by the running gateway: its masters, institution and books.
async fn prepared(st: &AppState, body: &[u8], commit: bool) -> Result<Prepared, Problem> {
    prepare(
        st.service.masters(),
        st.service.institution().cloned(),
        Some(books(st)),
        body,
        commit,
    )
    .await
}

pub(super) fn books(st: &AppState) -> Books<'_> {
    Books {
        store: &*st.store,
        hasher: &st.hasher,
        now: st.service.now(),
    }
}

fn setting_label(s: Setting) -> &'static str {
    match s {
        Setting::MedicalInpatient => "medical_inpatient",
        Setting::MedicalOutpatient => "medical_outpatient",
        Setting::Pharmacy => "pharmacy",
    }
}

fn answer(p: &Prepared, q: &Quote) -> ChargeQuoteResponse {
    let setting = p.visit.setting;
    let receipt = q
        .month
        .receipts
        .iter()
        .find(|r| r.setting == setting)
        .map(|r| ReceiptAmountsDto {
            setting: setting_label(r.setting).into(),
            visits: r.visits,
            cost: r.cost.0,
            points: points(r.cost),
            insurance: r.insurance.0,
            high_cost: r.high_cost.0,
            insurer_total: r.insurance.0 + r.high_cost.0,
            insurance_copay: r.cost.0 - r.insurance.0 - r.high_cost.0,
            patient: r.patient.0,
            subsidies: r
                .subsidies
                .iter()
                .map(|a| {
                    let inpatient = r.setting.care() == Care::Inpatient;
                    KoAmountsDto {
                        receipt_order: a.subsidy as u8 + 1,
                        position: p.described[a.subsidy].position as u8 + 1,
                        points: points(a.covered_cost),
                        patient_share: a.patient_share.0,
                        covered_copay_outpatient: (!inpatient).then_some(a.works_on.0),
                        covered_copay_inpatient: inpatient.then_some(a.works_on.0),
                        pays: a.pays.0,
                        meals_pays: r
                            .meals
                            .iter()
                            .flat_map(|m| m.by_subsidy.iter())
                            .filter(|(s, _)| *s == a.subsidy)
                            .map(|(_, y)| y.0)
                            .sum(),
                    }
                })
                .collect(),
            meals: r.meals.as_ref().map(|m| ReceiptMealsDto {
                count: m.count,
                class: meal_class_dto(m.class),
                standard_charge: m.standard.0,
                patient: m.patient.0,
            }),
        })
        .unwrap_or(ReceiptAmountsDto {
            setting: setting_label(setting).into(),
            visits: 0,
            cost: 0,
            points: Some(0),
            insurance: 0,
            high_cost: 0,
            insurer_total: 0,
            insurance_copay: 0,
            patient: 0,
            subsidies: Vec::new(),
            meals: None,
        });
    // In the request's order; each with its place in the rules' order.
    let mut by_position: Vec<(usize, &Described)> = p.described.iter().enumerate().collect();
    by_position.sort_by_key(|(_, d)| d.position);
    let subsidies = by_position
        .into_iter()
        .map(|(i, d)| {
            let this_visit = q.shares.get(i).map_or(0, |y| y.0);
            let month_to_date = p.ledger[i].map(|(own_outside, others)| {
                // The request's visits up to and with this one, plus committed ones outside it.
                let own = own_outside + so_far_share(q, i);
                let total = own + others;
                MonthToDateDto {
                    own,
                    others,
                    total,
                    remaining: d.monthly_cap.map(|c| c.0.saturating_sub(total)),
                }
            });
            ChargeSubsidyDto {
                position: d.position as u8 + 1,
                receipt_order: i as u8 + 1,
                payer_number: d.payer_number.clone(),
                law_code: d.law_code.map(|l| l.to_string()),
                short_name: d.short_name.clone(),
                monthly_cap: d.monthly_cap.map(|c| c.0),
                shared_cap: d.shared_cap,
                this_visit,
                month_to_date,
            }
        })
        .collect();
    let mut warnings: Vec<WarningDto> = p
        .described
        .iter()
        .flat_map(|d| d.warnings.iter().map(WarningDto::from))
        .collect();
    warnings.extend(p.notices.iter().map(|(code, ja, en)| WarningDto {
        code: (*code).into(),
        message: en.clone(),
        message_ja: ja.clone(),
    }));
    if p.described.iter().enumerate().any(|(i, d)| d.position != i) {
        let applied: Vec<String> = p
            .described
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!(
                    "第{}公費 {}（入力{}番目）",
                    i + 1,
                    d.short_name,
                    d.position + 1
                )
            })
            .collect();
        warnings.push(WarningDto {
            code: ChargeNotice::SubsidyOrderDiffers.into(),
            message: "the subsidies were typed in another order than their priority: computed in priority order (each part keeps the numbers as typed); check the order of the 公費 on the receipt".into(),
            message_ja: format!(
                "公費の入力順が優先順位と異なります。優先順位のとおり {} の順で計算しました（各部分の公費は入力順の番号のまま）。レセプトの公費の順序を確認してください",
                applied.join("、")
            ),
        });
    }
    let ins = p.month.insurance();
    if ins.kind != InsuranceKind::None && ins.class.is_none() {
        warnings.push(WarningDto {
            code: ChargeNotice::NoHighCostClass.into(),
            message: "no 高額療養費 class (限度額適用区分) given: the window may charge above the limit; check the class at オン資 or the 限度額適用認定証".into(),
            message_ja: "高額療養費の区分（限度額適用区分）が指定されていません: 限度額を超えて窓口で請求するおそれがあります。オン資の区分か限度額適用認定証を確認してください".into(),
        });
    }
    ChargeQuoteResponse {
        visit_id: p.visit_id.clone(),
        date: p.visit.date.to_string(),
        month: month_key(p.visit.date),
        setting: setting_label(setting).into(),
        window_charge: q.window_charge.0,
        charge_before_rounding: q.exact_charge.0,
        to_the_yen: q.to_the_yen,
        meal_charge: q.meal_charge.0,
        refund: q.refund.0,
        receipt,
        subsidies,
        provisional: q.month.provisional.clone(),
        warnings,
        trace: q.trace.iter().map(Into::into).collect(),
        masters_version: p.masters.version(),
        committed: None,
    }
}

fn meal_class(d: MealClassDto) -> MealClass {
    match d {
        MealClassDto::General => MealClass::General,
        MealClassDto::DesignatedDisease => MealClass::DesignatedDisease,
        MealClassDto::LowIncomeIi => MealClass::LowIncomeIi,
        MealClassDto::LowIncomeIiLong => MealClass::LowIncomeIiLong,
        MealClassDto::LowIncomeI => MealClass::LowIncomeI,
        MealClassDto::LivingI => MealClass::LivingI,
        MealClassDto::LivingIi => MealClass::LivingIi,
    }
}

fn meal_class_dto(c: MealClass) -> MealClassDto {
    match c {
        MealClass::General => MealClassDto::General,
        MealClass::DesignatedDisease => MealClassDto::DesignatedDisease,
        MealClass::LowIncomeIi => MealClassDto::LowIncomeIi,
        MealClass::LowIncomeIiLong => MealClassDto::LowIncomeIiLong,
        MealClass::LowIncomeI => MealClassDto::LowIncomeI,
        MealClass::LivingI => MealClassDto::LivingI,
        MealClass::LivingIi => MealClassDto::LivingIi,
    }
}

/// A cost in points (10 yen each), when it is a whole number of them.
fn points(cost: Yen) -> Option<u64> {
    cost.0.is_multiple_of(10).then_some(cost.0 / 10)
}

/// The patient's share under subsidy `i` for the request's visits up to and with the quoted
/// one.
fn so_far_share(q: &Quote, i: usize) -> u64 {
    q.shares_so_far.get(i).map_or(0, |y| y.0)
}

/// A quote from a request file, with the masters alone (`pmh-gateway quote FILE.json`): the
/// subsidies typed in, no ledger, nothing stored.
pub async fn quote_offline(
    masters: Arc<MasterSnapshot>,
    body: &[u8],
) -> Result<ChargeQuoteResponse, Problem> {
    let p = prepare(masters, None, None, body, false).await?;
    let q = billing::quote(&p)?;
    Ok(answer(&p, &q))
}

/// What would this visit cost at the window? Nothing is stored.
///
/// The subsidies come from an earlier check (`check_id`) or are typed from paper certificates
/// (`subsidies`); the bill comes in parts, one per set of payers (by the subsidies' order, or by
/// 負担区分). With this month's earlier visits at this institution (and what the ledger knows of
/// other institutions), the answer is the window charge, the KO amounts of the visit's receipt,
/// each subsidy's month, and the trace of every step.
#[utoipa::path(
    post,
    tag = "charges", operation_id = "quote_charge",
    path = "/v1/charge-quotes",
    request_body = ChargeQuoteRequest,
    responses(
        (status = 200, description = "The charge, its amounts and its trace", body = ChargeQuoteResponse),
        (status = 400, description = "A field cannot be read (a negative cost, an unknown class, a malformed visit id …); every such field is listed, with any that do not fit together", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No answer kept for `check_id`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every field reads, but they do not fit together (`/problems/inconsistent-request`: `check_id` and `subsidies` both or neither, `points` and `yen` both, a birthdate after the visit, meals on an outpatient visit, a visit id twice …) or the charge cannot be computed (`/problems/cannot-compute`: a part covered by a subsidy that is not in the quote, visits of two months, a rule the masters do not know …)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn quote(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (mut rec, p, q, _) = match computed(&st, &caller, &headers, body, false).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    rec.http_status = Some(200);
    let response = Json(answer(&p, &q)).into_response();
    audit::then(&st, rec, response).await
}

/// A quote's or a commit's request read and computed, with its audit record begun; or the
/// refusal, recorded.
async fn computed(
    st: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    commit: bool,
) -> Result<(AuditRecord, Prepared, Quote, Bytes), Response> {
    let op = if commit {
        Operation::ChargeCommit
    } else {
        Operation::ChargeQuote
    };
    let mut rec = audit::begin(st, caller, op);
    let body = match json_body(st.body_limit, headers, body) {
        Ok(b) => b,
        Err(p) => return Err(reject(st, rec, p).await),
    };
    let p = match prepared(st, &body, commit).await {
        Ok(p) => p,
        Err(p) => return Err(reject(st, rec, p).await),
    };
    rec.card = p.cards.iter().flatten().next().cloned();
    rec.subsidies = Some(p.described.len() as u32);
    if commit {
        rec.detail = p.visit_id.clone().map(|v| format!("visit {v}"));
    }
    match billing::quote(&p) {
        Ok(q) => Ok((rec, p, q, body)),
        Err(e) => Err(reject(st, rec, e.into()).await),
    }
}

/// How many times a commit is computed again when the month's ledger changed under it (other
/// windows committing against the same cap at the same moment).
const COMMIT_ATTEMPTS: usize = 16;

/// Commit a visit: the same body as a quote, with `visit.visit_id`.
///
/// Answers the charge and the month so far, and writes the visit's amounts under each shared
/// monthly cap to the ledger. The same request again answers the first commit (idempotent); a
/// different request for a committed visit id is a conflict unless `correction` is true, which
/// writes a new version (the old one no longer counts).
#[utoipa::path(
    post,
    tag = "charges", operation_id = "commit_charge",
    path = "/v1/charges",
    request_body = ChargeQuoteRequest,
    params(("client" = Option<String>, Query, description = "With `admin`: commit or correct another client's visit (visit ids are each client's own); without it the caller's", pattern = r"^[A-Za-z0-9._-]{1,64}$")),
    responses(
        (status = 200, description = "The same request was committed before: its answer", body = ChargeQuoteResponse),
        (status = 201, description = "Committed (a new version)", body = ChargeQuoteResponse),
        (status = 400, description = "A field cannot be read; every such field is listed", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No answer kept for `check_id`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The visit id is committed with a different request; send `correction: true` to replace it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every field matches the document, but they do not fit together (`check_id` and `subsidies` both or neither, `points` and `yen` both, a check digit …) or the charge cannot be computed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn commit(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (rec, mut p, mut q, body) = match computed(&st, &caller, &headers, body, true).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let owner = match owner_of(&caller, &query) {
        Ok(o) => o,
        Err(p) => return reject(&st, rec, p).await,
    };
    let mut attempt = 1;
    loop {
        let dto = answer(&p, &q);
        let Ok(written) = serde_json::to_string(&dto) else {
            return reject(
                &st,
                rec,
                Problem::internal("the answer could not be written"),
            )
            .await;
        };
        let committed = billing::commit(books(&st), &p, &q, &owner, &caller.name, &written).await;
        if let Ok(Committed::Stale) = committed {
            if attempt == COMMIT_ATTEMPTS {
                let p = Problem::conflict(
                    "the month's ledger for this certificate kept changing while the charge was computed (other windows committing at the same moment); send the request again",
                );
                return reject(&st, rec, p).await;
            }
            attempt += 1;
            // Computed again on the ledger as it is now.
            (p, q) = match prepared(&st, &body, true)
                .await
                .map(|p| billing::quote(&p).map(|q| (p, q)))
            {
                Ok(Ok(pq)) => pq,
                Ok(Err(e)) => return reject(&st, rec, e.into()).await,
                Err(problem) => return reject(&st, rec, problem).await,
            };
            continue;
        }
        return committed_response(&st, rec, dto, committed).await;
    }
}

/// The answer to a commit, recorded.
async fn committed_response(
    st: &AppState,
    mut rec: AuditRecord,
    mut dto: ChargeQuoteResponse,
    committed: Result<Committed, billing::BillingError>,
) -> Response {
    match committed {
        Ok(Committed::New { version }) => {
            dto.committed = Some(CommittedDto {
                version,
                repeated: false,
            });
            rec.http_status = Some(201);
            let location = dto
                .visit_id
                .as_deref()
                .and_then(|v| HeaderValue::from_str(&format!("/v1/charges/{v}")).ok());
            let mut response = (StatusCode::CREATED, Json(dto)).into_response();
            if let Some(l) = location {
                response.headers_mut().insert(header::LOCATION, l);
            }
            audit::then(st, rec, response).await
        }
        Ok(Committed::Repeated { version, answer }) => {
            let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&answer) else {
                return reject(
                    st,
                    rec,
                    Problem::internal("the committed answer could not be read back"),
                )
                .await;
            };
            v["committed"] = serde_json::json!({"version": version, "repeated": true});
            rec.http_status = Some(200);
            rec.detail = Some(format!(
                "{} (repeated)",
                rec.detail.clone().unwrap_or_default()
            ));
            audit::then(st, rec, Json(v).into_response()).await
        }
        Ok(Committed::Conflict { version }) => {
            let p = Problem::conflict(format!(
                "this visit id is committed (version {version}) with a different request; send `correction: true` to replace it, or void it first"
            ));
            reject(st, rec, p).await
        }
        Ok(Committed::Stale) => {
            let p = Problem::conflict(
                "the month's ledger changed while the charge was computed; send the request again",
            );
            reject(st, rec, p).await
        }
        Err(e) => reject(st, rec, e.into()).await,
    }
}

/// Void a committed visit: a new version; its amounts no longer count in the ledger.
#[utoipa::path(
    delete,
    tag = "charges", operation_id = "void_charge",
    path = "/v1/charges/{visit_id}",
    params(
        ("visit_id" = String, Path, description = "The receipt computer's id of the visit (each client's own)", pattern = r"^[A-Za-z0-9._:-]{1,64}$"),
        ("client" = Option<String>, Query, description = "With `admin`: void another client's visit; without it the caller's", pattern = r"^[A-Za-z0-9._-]{1,64}$"),
    ),
    responses(
        (status = 200, description = "Voided (or void already)", body = VoidDto),
        (status = 400, description = "Not a visit id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No visit of this client is committed with this id (another client's visit is never voided: only its owner or an `admin` may)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn void(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut rec = audit::begin(&st, &caller, Operation::ChargeVoid);
    let id = match visit_id("visit_id", &id) {
        Ok(v) => v,
        Err(e) => return reject(&st, rec, Problem::invalid(vec![e])).await,
    };
    let owner = match owner_of(&caller, &query) {
        Ok(o) => o,
        Err(p) => return reject(&st, rec, p).await,
    };
    rec.detail = Some(if owner == caller.name {
        format!("visit {id}")
    } else {
        format!("visit {id} of {owner}")
    });
    let outcome = billing::void(books(&st), &owner, &id, &caller.name).await;
    let (version, already_void) = match outcome {
        Ok(VoidOutcome::Voided { version }) => (version, false),
        Ok(VoidOutcome::AlreadyVoided { version }) => (version, true),
        Ok(VoidOutcome::NotOwner) => {
            // Answered as an unknown id (whether another client has it is not told); the
            // audit says what was refused.
            rec.detail = Some(format!("visit {id}: refused, another client's"));
            return reject(
                &st,
                rec,
                Problem::not_found("no visit is committed with this id"),
            )
            .await;
        }
        Ok(VoidOutcome::Unknown) => {
            return reject(
                &st,
                rec,
                Problem::not_found("no visit is committed with this id"),
            )
            .await;
        }
        Err(e) => return reject(&st, rec, e.into()).await,
    };
    rec.http_status = Some(200);
    let body = VoidDto {
        visit_id: id,
        version,
        already_void,
    };
    audit::then(&st, rec, Json(body).into_response()).await
}

/// Whose visits a request acts on: the caller's own, or — for a client with `admin` — the
/// client named by `?client=` (a visit id is each receipt computer's own).
fn owner_of(caller: &Caller, query: &HashMap<String, String>) -> Result<String, Problem> {
    match query.get("client").map(|c| c.trim()) {
        None => Ok(caller.name.clone()),
        Some(c) if c == caller.name => Ok(c.to_owned()),
        Some(_) if !caller.may(Scope::Admin) => Err(Problem::forbidden(&caller.name, Scope::Admin)),
        Some(c) if crate::auth::valid_client_name(c) => Ok(c.to_owned()),
        Some(_) => Err(Problem::invalid_field(
            "client",
            "is a client's name (A-Z a-z 0-9 . _ -, up to 64 characters)",
        )),
    }
}

/// Text a person typed, without control or invisible format characters.
fn plain_text(s: &str) -> bool {
    s.chars()
        .all(|c| !c.is_control() && !text::is_invisible_format(c))
}

fn card_of(st: &AppState, payer: &str, recipient: &str, errors: &mut Found) -> Option<KeyedHash> {
    let payer = payer_number("payer_number", payer, errors);
    let recipient = super::request::recipient_number("recipient_number", recipient)
        .map_err(|e| errors.push(e))
        .ok();
    Some(st.hasher.card(&payer?, &recipient?))
}

/// A 公費負担者番号: malformed (400), or well-formed with a check digit that does not fit (422,
/// a rule the document's pattern cannot state).
fn payer_number(field: &str, raw: &str, errors: &mut Found) -> Option<PayerNumber> {
    PayerNumber::parse(raw)
        .map_err(|e| {
            if e.is_check_digit() {
                errors.unfit(field, e.to_string());
            } else {
                errors.push(FieldError {
                    field: field.into(),
                    reason: e.to_string(),
                });
            }
        })
        .ok()
}

fn ledger_dto(month: NaiveDate, rows: &[LedgerRow]) -> LedgerDto {
    // The cap of the latest row that names one.
    let cap = rows
        .iter()
        .filter(|r| r.cap.is_some())
        .max_by_key(|r| (r.at, r.id))
        .and_then(|r| r.cap);
    let t = MonthTotalsDto::of(month, cap.map(|c| c.0), rows);
    LedgerDto {
        month: t.month,
        cap: t.cap,
        own: t.own,
        others: t.others,
        total: t.total,
        remaining: t.remaining,
        entries: rows
            .iter()
            .map(|r| LedgerEntryDto {
                id: r.id,
                source: r.source.as_str().into(),
                visit_id: r.visit_id.clone(),
                version: r.version,
                date: r.date.to_string(),
                amount: r.amount.0,
                total_cost: r.total_cost.map(|c| c.0),
                care: match r.care {
                    Care::Outpatient => "outpatient".into(),
                    Care::Inpatient => "inpatient".into(),
                },
                institution: r.institution.clone(),
                client: r.client.clone(),
                at: date::jst_rfc3339(r.at),
            })
            .collect(),
    }
}

/// Add an amount from the paper 自己負担上限額管理票 (another institution's payment this month).
///
/// Answers the certificate's month after it. With `entry_id`, a retry of the same request adds
/// nothing (200).
#[utoipa::path(
    post,
    tag = "ledger", operation_id = "add_ledger_entry",
    path = "/v1/ledger-entries",
    request_body = LedgerEntryRequest,
    responses(
        (status = 201, description = "Added; the month after it", body = LedgerDto),
        (status = 200, description = "The same entry again (its `entry_id` and body): nothing added; the month", body = LedgerDto),
        (status = 400, description = "A field does not match the document (every such field is listed)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every field matches the document, but the payer number's check digit does not fit its other digits (`/problems/inconsistent-request`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `entry_id` was used for another entry", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn add_entry(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let rec = audit::begin(&st, &caller, Operation::LedgerEntry);
    let body = match json_body(st.body_limit, &headers, body) {
        Ok(b) => b,
        Err(p) => return reject(&st, rec, p).await,
    };
    let req: LedgerEntryRequest = match parse_json(&body) {
        Ok(r) => r,
        Err(p) => return reject(&st, rec, p).await,
    };
    let key = fingerprint(&body);
    match added_entry(&st, &caller, rec, req, &key).await {
        Ok((status, month, id)) => {
            let mut r = (status, Json(month)).into_response();
            if status == StatusCode::CREATED
                && let Ok(v) = HeaderValue::from_str(&format!("/v1/ledger-entries/{id}"))
            {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Err(p) => p.into_response(),
    }
}

/// Adds a 管理票 amount (the API's route and the reception page's form): the checks, the
/// entry and its audit record; the status (201 added, 200 the same entry again) and the
/// certificate's month, or the refusal (recorded, or `audit_unavailable` when it could not be).
pub(super) async fn added_entry(
    st: &AppState,
    caller: &Caller,
    mut rec: AuditRecord,
    req: LedgerEntryRequest,
    body_fingerprint: &str,
) -> Result<(StatusCode, LedgerDto, i64), Problem> {
    async fn refuse(st: &AppState, mut rec: AuditRecord, p: Problem) -> Problem {
        audit::refused(&mut rec, &p);
        match audit::commit(st, rec).await {
            Ok(()) => p,
            Err(_) => Problem::audit_unavailable(),
        }
    }
    let mut errors = Found::default();
    let card = card_of(st, &req.payer_number, &req.recipient_number, &mut errors);
    let date = day("date", &req.date).map_err(|e| errors.push(e)).ok();
    let amount_yen = amount("amount", req.amount)
        .map_err(|e| errors.push(e))
        .ok();
    let total = req
        .total_cost
        .map(|t| amount("total_cost", t))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let cap = req
        .monthly_cap
        .map(|t| amount("monthly_cap", t))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let entry_id = req
        .entry_id
        .as_deref()
        .map(|id| visit_id("entry_id", id))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    // As typed (the document's pattern), then folded.
    if let Some(i) = &req.institution
        && (i.chars().count() > 40 || !plain_text(i))
    {
        errors.push(FieldError {
            field: "institution".into(),
            reason: "is a label of up to 40 printable characters".into(),
        });
    }
    if !errors.is_empty() {
        return Err(refuse(st, rec, errors.into_problem()).await);
    }
    let (card, date, amount_yen) = (
        card.expect("no errors"),
        date.expect("no errors"),
        amount_yen.expect("no errors"),
    );
    rec.card = Some(card.clone());
    let added = billing::add_entry(
        books(st),
        NewLedgerEntry {
            owner: caller.name.clone(),
            card: card.clone(),
            date,
            amount: amount_yen,
            total_cost: total,
            care: req.care.map(Into::into).unwrap_or_default(),
            institution: req
                .institution
                .as_deref()
                .map(|i| text::nfkc(i.trim()))
                .filter(|i| !i.is_empty()),
            cap,
            client: caller.name.clone(),
            at: st.service.now(),
            key: entry_id.map(|id| EntryKey {
                id,
                fingerprint: st.hasher.ledger_entry(body_fingerprint),
            }),
        },
    )
    .await;
    let added = match added {
        Ok(a) => a,
        Err(e) => return Err(refuse(st, rec, e.into()).await),
    };
    let status = if added.again {
        rec.detail = Some("the same entry again (entry_id): nothing added".into());
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    rec.http_status = Some(status.as_u16());
    match audit::commit(st, rec).await {
        Ok(()) => Ok((status, ledger_dto(date, &added.rows), added.id)),
        Err(_) => Err(Problem::audit_unavailable()),
    }
}

/// Void an amount entered from the paper 管理票 (a mistyped one): a row naming it is written
/// (never an edit), and the certificate's month after it is answered. A committed visit's row is
/// voided with its visit (`DELETE /v1/charges/{visit_id}`).
#[utoipa::path(
    delete,
    tag = "ledger", operation_id = "void_ledger_entry",
    path = "/v1/ledger-entries/{id}",
    params(("id" = i64, Path, description = "The entry's id (from GET /v1/ledgers)", minimum = 1)),
    responses(
        (status = 200, description = "Voided (or void already); the month after it", body = LedgerDto),
        (status = 400, description = "Not an entry id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry of this client (only the client that entered it, or an `admin`, voids it)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The entry is a committed visit's: void the visit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn void_entry(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let mut rec = audit::begin(&st, &caller, Operation::LedgerEntryVoid);
    let Some(id) = id.parse::<i64>().ok().filter(|&i| i > 0) else {
        return reject(
            &st,
            rec,
            Problem::invalid_field("id", "is an entry id (a whole number from 1)"),
        )
        .await;
    };
    rec.detail = Some(format!("entry {id}"));
    // Only the client that entered it, or an admin.
    let owner = (!caller.may(Scope::Admin)).then(|| caller.name.clone());
    match billing::void_entry(books(&st), id, owner, &caller.name).await {
        Ok(EntryVoided::Done { card, month, rows }) => {
            rec.card = Some(card);
            rec.http_status = Some(200);
            audit::then(&st, rec, Json(ledger_dto(month, &rows)).into_response()).await
        }
        Ok(EntryVoided::NotOwner { card }) => {
            // Answered as an unknown id; the audit says what was refused.
            rec.card = card;
            rec.detail = Some(format!("entry {id}: refused, another client's"));
            reject(&st, rec, Problem::not_found("no ledger entry has this id")).await
        }
        Ok(EntryVoided::Unknown) => {
            reject(&st, rec, Problem::not_found("no ledger entry has this id")).await
        }
        Ok(EntryVoided::OwnVisit { card }) => {
            rec.card = card;
            let p = Problem::conflict(
                "this entry is a committed visit's: void the visit (DELETE /v1/charges/{visit_id})",
            );
            reject(&st, rec, p).await
        }
        Err(e) => reject(&st, rec, e.into()).await,
    }
}

/// A certificate's month: the cap, this institution's committed visits, the amounts of others,
/// the remainder, and every entry.
#[utoipa::path(
    get,
    tag = "ledger", operation_id = "get_ledger_month",
    path = "/v1/ledgers",
    params(
        ("payer_number" = String, Query, description = "公費負担者番号", pattern = r"^[0-9]{8}$"),
        ("recipient_number" = String, Query, description = "公費受給者番号: 1–30 digits, letters or hyphens (half- or full-width)", pattern = "^[0-9A-Za-z０-９Ａ-Ｚａ-ｚ-]{1,30}$"),
        ("month" = String, Query, description = "YYYY-MM", pattern = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$"),
    ),
    responses(
        (status = 200, description = "The month", body = LedgerDto),
        (status = 400, description = "A field does not match the document (every such field is listed)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every field matches the document, but the payer number's check digit does not fit its other digits (`/problems/inconsistent-request`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn ledger(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut rec = audit::begin(&st, &caller, Operation::LedgerRead);
    let mut errors = Found::default();
    let (payer, recipient, month) = (
        q.get("payer_number"),
        q.get("recipient_number"),
        q.get("month"),
    );
    for (name, v) in [
        ("payer_number", payer),
        ("recipient_number", recipient),
        ("month", month),
    ] {
        if v.is_none() {
            errors.push(FieldError {
                field: name.into(),
                reason: "is required".into(),
            });
        }
    }
    let card = match (payer, recipient) {
        (Some(p), Some(r)) => card_of(&st, p, r, &mut errors),
        _ => None,
    };
    let first = month.and_then(|m| {
        date::parse_iso(&format!("{}-01", m.trim()))
            .ok()
            .filter(|_| m.trim().len() == 7)
            .or_else(|| {
                errors.push(FieldError {
                    field: "month".into(),
                    reason: "must be YYYY-MM".into(),
                });
                None
            })
    });
    if !errors.is_empty() {
        return reject(&st, rec, errors.into_problem()).await;
    }
    let (card, first) = (card.expect("no errors"), first.expect("no errors"));
    rec.card = Some(card.clone());
    match billing::month(books(&st), card, first).await {
        Ok(rows) => {
            rec.http_status = Some(200);
            audit::then(&st, rec, Json(ledger_dto(first, &rows)).into_response()).await
        }
        Err(e) => reject(&st, rec, e.into()).await,
    }
}
