//! From certificates to the engine's subsidies: each certificate is mapped for every setting
//! (医科 入院, 医科 外来, 調剤) with the masters, and its copay rule in each becomes the engine's
//! terms. The same path serves a check's certificates and a paper certificate typed in.

use super::input::{ChargeError, Method, Setting, Subsidy, SubsidyMeals, Terms, Visit};
use crate::domain::{Certificate, LawCode, PayerNumber, Redacted, ServiceDate, Yen};
use crate::mapping::{self, CopayRule, Flag, MappedSubsidy, ProgrammeKind, VisitContext, Warning};
use crate::masters::{
    CopayMethod, KohiLimitRule, LimitStatus, MasterSnapshot, MealRule, ProgrammeMealRule, RateRule,
};

/// A certificate to quote with, and (for 生活保護) the 医療券's 本人支払額.
#[derive(Debug, Clone)]
pub struct Named {
    pub certificate: Certificate,
    pub own_payment: Option<Yen>,
}

/// One subsidy of the quote as the answer names it (the 第N公費 of the engine's index N−1).
/// `Debug` leaves out the recipient number.
#[derive(Clone)]
pub struct Described {
    /// Its index among the certificates given (how the request's parts name it); the engine's
    /// index — its place in the priority order — is its index among the described.
    pub position: usize,
    pub payer_number: String,
    /// Needed for the ledger's key; never shown in a trace or an error.
    pub recipient_number: Option<String>,
    pub law_code: Option<LawCode>,
    pub short_name: String,
    /// The monthly cap in the visit's setting, if any.
    pub monthly_cap: Option<Yen>,
    pub shared_cap: bool,
    /// A fixed amount charged at most so many times a month: the ledger keeps its visits (under
    /// the recipient number) so that committed ones count.
    pub counts_visits: bool,
    pub warnings: Vec<Warning>,
}

impl std::fmt::Debug for Described {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Described")
            .field("position", &self.position)
            .field("payer_number", &self.payer_number)
            .field("recipient_number", &Redacted::opt(&self.recipient_number))
            .field("law_code", &self.law_code)
            .field("short_name", &self.short_name)
            .field("monthly_cap", &self.monthly_cap)
            .field("shared_cap", &self.shared_cap)
            .field("counts_visits", &self.counts_visits)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// The active subsidies of `named` on `day`, in receipt order (the priority rules' order, which
/// the engine computes in), with their terms per setting; each described with its position in
/// `named`. Certificates that are not valid on the day are left out (the answer of a check says
/// why).
pub fn resolve(
    named: &[Named],
    masters: &MasterSnapshot,
    day: ServiceDate,
    base: &VisitContext,
) -> Result<(Vec<Subsidy>, Vec<Described>), ChargeError> {
    let certs: Vec<Certificate> = named.iter().map(|n| n.certificate.clone()).collect();
    let by_setting: Vec<Vec<MappedSubsidy>> = Setting::ALL
        .iter()
        .map(|s| {
            let ctx = VisitContext {
                service_date: day,
                claim: s.claim(),
                care: s.care(),
                ..base.clone()
            };
            mapping::map(&certs, masters, &ctx).active
        })
        .collect();
    let first = &by_setting[Setting::MedicalOutpatient as usize];
    let mut subsidies = Vec::new();
    let mut described: Vec<Described> = Vec::new();
    for m in first {
        // Its place among the certificates given: the first with its numbers not yet taken.
        let position = named
            .iter()
            .enumerate()
            .position(|(i, n)| {
                n.certificate.payer_number_raw == m.payer_number
                    && n.certificate.recipient_number_raw == m.recipient_number
                    && described.iter().all(|d| d.position != i)
            })
            .unwrap_or(described.len());
        let same = |o: &&MappedSubsidy| {
            o.payer_number == m.payer_number && o.recipient_number == m.recipient_number
        };
        let own_payment = named
            .iter()
            .find(|n| {
                n.certificate.payer_number_raw == m.payer_number
                    && n.certificate.recipient_number_raw == m.recipient_number
            })
            .and_then(|n| n.own_payment);
        let label = m
            .programme
            .short_name
            .clone()
            .unwrap_or_else(|| format!("公費 {}", subsidies.len() + 1));
        let mut terms: [Option<Terms>; 3] = [None; 3];
        for (i, setting) in Setting::ALL.iter().enumerate() {
            let Some(sm) = by_setting[i].iter().find(same) else {
                continue;
            };
            terms[i] = to_terms(sm.copay_for(setting.care()), own_payment);
        }
        if m.programme.kind == ProgrammeKind::Unknown || terms.iter().all(Option::is_none) {
            return Err(ChargeError::RuleUnknown { label });
        }
        let national = m.programme.law_code.and_then(|l| masters.national(l));
        let (mut kohi_limit, rate_rule) = match (m.programme.kind, national) {
            (ProgrammeKind::National, Some(n)) => (n.kohi_limit, n.rate_rule),
            _ => (KohiLimitRule::None, RateRule::Programme),
        };
        // 償還払いのみ: the clinic charges in full and the patient claims from the payer later,
        // so at the window the subsidy lowers nothing: everything left to it stays the patient's.
        let reimbursed = m.flags.contains(&Flag::ReimbursementOnly);
        let label = if reimbursed {
            for t in terms.iter_mut().flatten() {
                *t = Terms {
                    method: Method::Rate { percent: 100 },
                    caps: Default::default(),
                    charged_times_per_month: None,
                    rounding: t.rounding,
                    counting: Default::default(),
                    class_without_certificate: None,
                };
            }
            kohi_limit = KohiLimitRule::None;
            format!("{label}（償還払い：窓口では全額）")
        } else {
            label
        };
        described.push(Described {
            position,
            payer_number: m.payer_number.clone(),
            recipient_number: m.recipient_number.clone(),
            law_code: m.programme.law_code,
            short_name: label.clone(),
            monthly_cap: m.copay.caps.per_month.or(own_payment),
            shared_cap: m.copay.monthly_cap_shared,
            counts_visits: terms
                .iter()
                .flatten()
                .any(|t| t.charged_times_per_month.is_some()),
            warnings: m.warnings.clone(),
        });
        let meals = meal_rule(masters, m).map(|r| SubsidyMeals {
            // 償還払いのみ: the window charges in full, meals too.
            rule: if reimbursed { MealRule::None } else { r.rule },
            provisional: r.status == LimitStatus::Provisional,
        });
        subsidies.push(Subsidy {
            label,
            law_code: m.programme.law_code,
            kohi_limit,
            rate_rule,
            shared_cap: m.copay.monthly_cap_shared,
            local: m.programme.kind == ProgrammeKind::Local,
            paid_elsewhere: Vec::new(),
            terms,
            meals,
        });
    }
    Ok((subsidies, described))
}

/// The masters' meal rule of a mapped subsidy: by its 法別番号, or its local programme's row.
fn meal_rule<'a>(masters: &'a MasterSnapshot, m: &MappedSubsidy) -> Option<&'a ProgrammeMealRule> {
    match m.programme.kind {
        ProgrammeKind::National => masters.meal_rules().national(m.programme.law_code?),
        ProgrammeKind::Local => {
            let payer = PayerNumber::parse(&m.payer_number).ok()?;
            masters
                .meal_rules()
                .local(&masters.local(&payer)?.payer_match)
        }
        ProgrammeKind::Unknown => None,
    }
}

/// The engine's terms for a resolved rule; `None` where the rule is unknown or incomplete (the
/// setting is then not covered).
fn to_terms(rule: &CopayRule, own_payment: Option<Yen>) -> Option<Terms> {
    let method = match (rule.method?, own_payment) {
        (_, Some(amount)) => Method::Monthly { amount },
        (CopayMethod::Free, None) => Method::Free,
        (CopayMethod::Rate, None) => Method::Rate {
            percent: rule.rate_percent?,
        },
        (CopayMethod::PerVisit, None) => Method::PerVisit {
            amount: rule.amount?,
        },
        (CopayMethod::PerDay, None) => Method::PerDay {
            amount: rule.amount?,
        },
        (CopayMethod::CopayRate, None) => Method::CopayRate {
            percent: rule.rate_percent?,
        },
    };
    Some(Terms {
        method,
        caps: rule.caps,
        charged_times_per_month: rule.charged_times_per_month,
        rounding: rule.rounding,
        counting: rule.counting,
        class_without_certificate: rule.class_without_certificate,
    })
}

/// Turns the parts' subsidies from positions among the certificates given (`given` of them) into
/// the engine's indexes (the receipt order of `described`): the caller's order is never
/// reordered under it. A position past the given ones, or of a certificate not in force on the
/// day, is named.
pub fn to_receipt_order(
    visits: &mut [Visit],
    described: &[Described],
    given: usize,
) -> Result<(), ChargeError> {
    for (v, visit) in visits.iter_mut().enumerate() {
        for (j, p) in visit.parts.iter_mut().enumerate() {
            for s in p.subsidies.iter_mut() {
                let (visit, part, subsidy) = (v + 1, j + 1, *s + 1);
                if *s >= given {
                    return Err(ChargeError::UnknownSubsidy {
                        visit,
                        part,
                        subsidy,
                        count: given,
                    });
                }
                *s = described.iter().position(|d| d.position == *s).ok_or(
                    ChargeError::SubsidyNotInForce {
                        visit,
                        part,
                        subsidy,
                    },
                )?;
            }
        }
    }
    Ok(())
}
