//! Rule resolution: the effective copay rule of one certificate for this person and visit.
//!
//! Sources, strongest first: the certificate's own `maxCopaymentAmount` (PMH), then the master
//! (income-class caps for national programmes, the local programme's rule row). Where both speak
//! and disagree, the certificate wins and a warning says so. A 調剤 claim follows the master's
//! pharmacy rule: when that rule is "free", the certificate's caps (which describe 外来 / 入院,
//! not 調剤) do not apply.

use super::{Programme, ProgrammeKind, VisitContext, Warning, WarningCode};
use crate::domain::HighCostClass;
use crate::domain::{
    Care, Certificate, Claim, CopayCaps, MaxCopayment, Rounding, Yen, fiscal_year_age,
};
use crate::masters::{CapLookup, CopayMethod, MasterSnapshot, PharmacyRule, VisitCounting};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CapsSource {
    /// `maxCopaymentAmount` on the certificate.
    Certificate,
    /// The master's cap for the certificate's income class and condition.
    MasterIncomeClass,
    /// The local programme's rule in the master.
    MasterProgramme,
    /// No cap is known.
    None,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CopayRule {
    /// The setting this rule was resolved for.
    pub care: Care,
    pub claim: Claim,
    /// `None` when the rule is unknown (unknown programme, setting not covered).
    pub method: Option<CopayMethod>,
    /// For `rate`: the patient's share in percent, before caps.
    pub rate_percent: Option<u8>,
    /// For `per_visit` / `per_day`: the fixed amount.
    pub amount: Option<Yen>,
    /// The caps that apply to this visit.
    pub caps: CopayCaps,
    /// The fixed amount is charged at most this many times a month at one institution.
    pub charged_times_per_month: Option<u16>,
    /// How those times are counted (visits, days or 初診; here or everywhere; paid or all).
    #[serde(default)]
    pub counting: VisitCounting,
    /// Without a 限度額適用認定証 the programme pays only up to this class's limit.
    #[serde(default)]
    pub class_without_certificate: Option<HighCostClass>,
    /// The monthly cap is shared with other institutions (自己負担上限額管理票).
    pub monthly_cap_shared: bool,
    /// The additional condition the cap was chosen by (高額かつ長期 …).
    pub condition_name: Option<String>,
    pub source: CapsSource,
    /// The certificate's `maxCopaymentAmount` as received.
    pub certificate: MaxCopayment,
    /// How the patient's share under the programme is rounded (its 端数条件).
    pub rounding: Rounding,
}

impl CopayRule {
    fn unknown(care: Care, claim: Claim, certificate: MaxCopayment) -> Self {
        Self {
            care,
            claim,
            method: None,
            rate_percent: None,
            amount: None,
            caps: CopayCaps::default(),
            charged_times_per_month: None,
            counting: VisitCounting::default(),
            class_without_certificate: None,
            monthly_cap_shared: false,
            condition_name: None,
            source: CapsSource::None,
            certificate,
            rounding: Rounding::Yen,
        }
    }
}

fn care_label(care: Care) -> &'static str {
    match care {
        Care::Outpatient => "外来",
        Care::Inpatient => "入院",
    }
}

/// Warns for each cap the certificate and the master both state, differently.
fn conflicts(cert: CopayCaps, master: CopayCaps, what: &str, warnings: &mut Vec<Warning>) {
    for (name, c, m) in [
        ("per visit", cert.per_visit, master.per_visit),
        ("per day", cert.per_day, master.per_day),
        ("per month", cert.per_month, master.per_month),
    ] {
        if let (Some(c), Some(m)) = (c, m)
            && c != m
        {
            warnings.push(Warning::new(
                WarningCode::CapConflict,
                format!(
                    "the certificate's cap {name} is {} 円 but {what} says {} 円: the certificate wins",
                    c.0, m.0
                ),
            ));
        }
    }
}

pub(super) fn resolve(
    c: &Certificate,
    programme: &Programme,
    masters: &MasterSnapshot,
    ctx: &VisitContext,
    warnings: &mut Vec<Warning>,
) -> CopayRule {
    let cert_caps = match ctx.care {
        Care::Outpatient => c.max_copayment.outpatient,
        Care::Inpatient => c.max_copayment.inpatient,
    };
    let mut rule = CopayRule::unknown(ctx.care, ctx.claim, c.max_copayment);
    match programme.kind {
        ProgrammeKind::National => {
            let Some(n) = programme.law_code.and_then(|l| masters.national(l)) else {
                return rule;
            };
            if !n.care_scope.covers(ctx.care) {
                warnings.push(Warning::new(
                    WarningCode::SettingNotCovered,
                    format!(
                        "法別 {} does not cover {} care",
                        n.law_code,
                        care_label(ctx.care)
                    ),
                ));
                return rule;
            }
            if ctx.claim == Claim::Pharmacy {
                match n.pharmacy_rule {
                    PharmacyRule::NotCovered => {
                        warnings.push(Warning::new(
                            WarningCode::SettingNotCovered,
                            format!("法別 {} does not cover pharmacy (調剤) claims", n.law_code),
                        ));
                        return rule;
                    }
                    PharmacyRule::Free => {
                        rule.method = Some(CopayMethod::Free);
                        rule.source = CapsSource::MasterProgramme;
                        return rule;
                    }
                    PharmacyRule::Same => {}
                }
            }
            rule.monthly_cap_shared = n.monthly_cap_shared;
            rule.rounding = n.rounding;
            if n.default_rate_percent == 0 {
                rule.method = Some(CopayMethod::Free);
            } else {
                rule.method = Some(CopayMethod::Rate);
                rule.rate_percent = Some(n.default_rate_percent);
            }
            let segment = c.income_segment.as_deref();
            let master_cap = match masters.income_cap(n.law_code, segment, &c.additional_conditions)
            {
                CapLookup::NotApplicable => None,
                CapLookup::NoSegment => {
                    if cert_caps.is_empty() {
                        warnings.push(Warning::new(
                            WarningCode::CapUnknown,
                            format!(
                                "法別 {} caps by income class, but the certificate names no class and no cap: the monthly cap is unknown (check the certificate)",
                                n.law_code
                            ),
                        ));
                    }
                    None
                }
                CapLookup::UnknownSegment => {
                    warnings.push(Warning::new(
                        WarningCode::IncomeClassUnknown,
                        format!(
                            "income class `{}`{} is not in the cap table of 法別 {}",
                            segment.unwrap_or_default(),
                            if c.additional_conditions.is_empty() {
                                String::new()
                            } else {
                                format!(" (conditions {})", c.additional_conditions.join(";"))
                            },
                            n.law_code
                        ),
                    ));
                    if cert_caps.is_empty() {
                        warnings.push(Warning::new(
                            WarningCode::CapUnknown,
                            "the monthly cap is unknown (check the certificate)",
                        ));
                    }
                    None
                }
                CapLookup::Found(row) => {
                    rule.condition_name = row.condition_name.clone();
                    Some(row.monthly_cap)
                }
            };
            if !cert_caps.is_empty() {
                if let Some(m) = master_cap {
                    let master = CopayCaps {
                        per_month: m,
                        ..Default::default()
                    };
                    conflicts(
                        cert_caps,
                        master,
                        "the master for this income class",
                        warnings,
                    );
                }
                rule.caps = cert_caps;
                rule.source = CapsSource::Certificate;
            } else if let Some(Some(m)) = master_cap {
                rule.caps.per_month = Some(m);
                rule.source = CapsSource::MasterIncomeClass;
            }
        }
        ProgrammeKind::Local => {
            let Some(key) = programme.master_key.as_deref() else {
                return rule;
            };
            let local = c.payer_number.as_ref().ok().and_then(|p| masters.local(p));
            if let Some(l) = local {
                local_checks(l, ctx, warnings);
            }
            let found =
                masters
                    .local_rules()
                    .lookup(key, ctx.care, ctx.claim, c.income_segment.as_deref());
            let Some(r) = found else {
                warnings.push(Warning::new(
                    WarningCode::SettingNotCovered,
                    format!(
                        "the local programme has no rule for {} {} claims",
                        care_label(ctx.care),
                        match ctx.claim {
                            Claim::Medical => "医科",
                            Claim::Pharmacy => "調剤",
                        }
                    ),
                ));
                return rule;
            };
            rule.method = Some(r.method);
            rule.rate_percent = r.rate_percent;
            rule.amount = r.amount;
            rule.caps = r.caps;
            rule.charged_times_per_month = r.charged_times_per_month;
            rule.counting = r.counting;
            rule.class_without_certificate = r.class_without_certificate;
            rule.rounding = r.rounding;
            rule.source = CapsSource::MasterProgramme;
            let free_at_pharmacy = ctx.claim == Claim::Pharmacy && r.method == CopayMethod::Free;
            if !cert_caps.is_empty() && !free_at_pharmacy {
                let mut master = r.caps;
                match r.method {
                    CopayMethod::PerVisit => master.per_visit = master.per_visit.or(r.amount),
                    CopayMethod::PerDay => master.per_day = master.per_day.or(r.amount),
                    _ => {}
                }
                conflicts(
                    cert_caps,
                    master,
                    "the local programme's master rule",
                    warnings,
                );
                match r.method {
                    CopayMethod::PerVisit if cert_caps.per_visit.is_some() => {
                        rule.amount = cert_caps.per_visit
                    }
                    CopayMethod::PerDay if cert_caps.per_day.is_some() => {
                        rule.amount = cert_caps.per_day
                    }
                    _ => {}
                }
                rule.caps = cert_caps;
                rule.source = CapsSource::Certificate;
            }
        }
        ProgrammeKind::Unknown => {
            if !cert_caps.is_empty() {
                rule.caps = cert_caps;
                rule.source = CapsSource::Certificate;
            }
        }
    }
    rule
}

/// Checks of a local programme's own conditions: in force, age, setting, insurance.
fn local_checks(
    l: &crate::masters::LocalProgramme,
    ctx: &VisitContext,
    warnings: &mut Vec<Warning>,
) {
    let day = ctx.service_date.date();
    if l.valid_from.is_some_and(|f| day < f) || l.valid_to.is_some_and(|t| day > t) {
        warnings.push(Warning::new(
            WarningCode::ProgrammeNotInForce,
            format!(
                "the local programme {} is not in force on the service date according to the master",
                l.short_name
            ),
        ));
    }
    if let Some(bd) = ctx.birthdate
        && (l.age_min.is_some() || l.age_max.is_some())
    {
        match fiscal_year_age(bd, day) {
            Some(age)
                if l.age_min.is_some_and(|m| age < u32::from(m))
                    || l.age_max.is_some_and(|m| age > u32::from(m)) =>
            {
                warnings.push(Warning::new(
                    WarningCode::AgeOutsideProgramme,
                    format!(
                        "the patient's 年度年齢 is outside {}–{} of the local programme {}",
                        l.age_min.map(|a| a.to_string()).unwrap_or_default(),
                        l.age_max.map(|a| a.to_string()).unwrap_or_default(),
                        l.short_name
                    ),
                ));
            }
            _ => {}
        }
    }
    if let Some(ins) = ctx.insurance
        && !l.insurance_kinds.contains(&ins.kind)
    {
        warnings.push(Warning::new(
            WarningCode::InsuranceKindNotCovered,
            format!(
                "the local programme {} does not cover patients with this insurance kind",
                l.short_name
            ),
        ));
    }
}
