//! The computation: a month's receipts, part by part, payer by payer, with a trace.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::input::{
    ChargeError, Insurance, Method, Month, Setting, SpecificDisease, Subsidy, Visit,
};
use super::trace::{TraceCode, TraceLine, Words};
use crate::domain::{AgeGroup, Care, InsuranceKind, Rounding, Yen};
use crate::masters::{
    CountScope, CountUnit, CountWhen, HighCostLimits, KohiLimitRule, LimitKey, LimitStatus,
    MasterSnapshot, MealCharges, MealClass, MealRule, RateRule, VisitCounting,
};

/// Under 70, a 公費 part joins the receipt's class limit only when its copay after its own
/// limit is at least this much (合算対象基準額).
pub const JOIN_THRESHOLD: Yen = Yen(21_000);

/// One 公費's amounts on one receipt: the KO record's fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SubsidyAmounts {
    /// Index in the month's subsidies (0 = 第1公費).
    pub subsidy: usize,
    pub label: String,
    /// The 10割 cost of the parts it covers (its KO record's points × 10).
    pub covered_cost: Yen,
    /// What was left to this 公費 on its parts, the amount it works on (公費給付対象 外来 /
    /// 入院 一部負担金).
    pub works_on: Yen,
    /// The patient's share under this 公費 (負担金額 公費), in yen.
    pub patient_share: Yen,
    /// What this 公費 pays.
    pub pays: Yen,
}

/// One receipt of the month (医科 入院, 医科 外来 or 調剤).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptCharges {
    pub setting: Setting,
    pub visits: usize,
    /// The 10割 cost.
    pub cost: Yen,
    pub insurance: Yen,
    /// 高額療養費 paid in kind (a 公費 part's limit and the receipt's class limit).
    pub high_cost: Yen,
    pub subsidies: Vec<SubsidyAmounts>,
    /// The patient's share of the medical cost (meals apart).
    pub patient: Yen,
    /// Meals in hospital (an inpatient receipt with meals): their own line, outside the 高額
    /// limits and the 公費 caps.
    pub meals: Option<ReceiptMeals>,
}

/// The meals of an inpatient receipt: the 標準負担額 and who pays it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptMeals {
    /// 食事療養・生活療養 回数.
    pub count: u32,
    pub class: MealClass,
    /// The 標準負担額 of the meals (the HO record's 食事療養・生活療養 標準負担額).
    pub standard: Yen,
    /// Per subsidy index: what it pays of the 標準負担額 (the KO record's 食事 amounts).
    pub by_subsidy: Vec<(usize, Yen)>,
    /// What the patient pays for the meals.
    pub patient: Yen,
}

/// The month at this institution.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MonthCharges {
    pub receipts: Vec<ReceiptCharges>,
    /// The patient's total for the month, meals included, before the window's rounding.
    pub patient: Yen,
    /// Of it, the meals.
    pub meals: Yen,
    /// Per subsidy (by index): the patient's share under it this month at this institution —
    /// what the 自己負担上限額管理票 records for a shared cap.
    pub shares: Vec<Yen>,
    /// Per subsidy: what is left of its monthly cap after this month's visits (and the amounts
    /// paid elsewhere, for a shared cap); `None` without a monthly cap.
    pub cap_remaining: Vec<Option<Yen>>,
    pub trace: Vec<TraceLine>,
    /// The provisional master rows the computation used.
    pub provisional: Vec<String>,
    /// The visits (ids) whose share a monthly cap (or a 本人支払額) cut, and the receipts
    /// (settings) a 高額 limit held: a visit among them settles the month at the window to the
    /// yen.
    #[serde(skip)]
    pub held: Held,
}

/// Where a cap or a limit set the amount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// (visit id, subsidy index): the subsidy's monthly cap (or 本人支払額) cut the visit's share.
    pub capped: BTreeSet<(String, usize)>,
    pub receipts: BTreeSet<Setting>,
}

impl Held {
    fn visit(&self, v: &Visit) -> bool {
        self.receipts.contains(&v.setting) || self.capped.iter().any(|(id, _)| *id == v.id)
    }
}

/// What one visit costs at the window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quote {
    pub visit_id: String,
    /// What the patient pays at the window for the visit: the month's patient total so far
    /// with the visit minus without it, rounded to 10 yen (健康保険法 §75) — or, when a cap or
    /// a limit sets the amount (`to_the_yen`), the month's total so far minus what the earlier
    /// windows collected, to the yen, so that the month's windows add up to the cap or limit.
    pub window_charge: Yen,
    /// The window charge settles the month to the yen (a monthly 公費 cap or 本人支払額 reached
    /// at this visit, or a 高額 limit holding its receipt).
    pub to_the_yen: bool,
    /// What the month's earlier visits collected at the window (less refunds).
    pub earlier_windows: Yen,
    /// The same before rounding.
    pub exact_charge: Yen,
    /// When the visit lowers the month's total (a 公費 part that now reaches 21,000 yen joins
    /// the receipt's limit): what is due back to the patient; the charge is then 0.
    pub refund: Yen,
    /// Per subsidy: this visit's 管理票 row — its addition to the patient's share under it (the
    /// 公費-level amount, before a later 公費 pays part of it), rounded as a window charge is
    /// (to 10 yen; to the yen when it reaches the monthly cap: the cap minus the earlier rows).
    pub shares: Vec<Yen>,
    /// Per subsidy: the 管理票 rows of the month's visits so far, with this visit.
    pub shares_so_far: Vec<Yen>,
    /// The whole month as given (every visit): the receipts and their KO amounts.
    pub month: MonthCharges,
    /// Of the window charge, the visit's meals (their own line).
    pub meal_charge: Yen,
    /// The patient's total for the month up to and with the visit.
    pub month_so_far: Yen,
    /// The same without the visit.
    pub month_without: Yen,
    pub trace: Vec<TraceLine>,
}

/// Computes the month: every visit given, every amount on the 管理票.
pub fn month(m: &Month, masters: &MasterSnapshot) -> Result<MonthCharges, ChargeError> {
    compute(m, masters, &canonical_order(m), None)
}

/// What the visit `visit_id` of the month costs at the window: the patient's total for the
/// month so far with it (the visits before it in date order — of its day, those given before it
/// — and it) minus without it. Amounts on the 管理票 count where their date falls: those dated
/// after the visit are not part of its charge.
pub fn quote(m: &Month, visit_id: &str, masters: &MasterSnapshot) -> Result<Quote, ChargeError> {
    let position = m
        .visits()
        .iter()
        .position(|v| v.id == visit_id)
        .ok_or(ChargeError::VisitNotFound)?;
    let order = canonical_order(m);
    let at = order
        .iter()
        .position(|&i| i == position)
        .expect("every visit is in the canonical order");
    // Every visit up to this one, as of its own day: what its window collected.
    let mut collected: u64 = 0;
    let mut rows_so_far = vec![0u64; m.subsidies().len()];
    let mut rows = rows_so_far.clone();
    let mut last = None;
    for j in 0..=at {
        let day = Some(m.visits()[order[j]].date);
        let with = compute(m, masters, &order[..=j], day)?;
        let without = compute(m, masters, &order[..j], day)?;
        let visit = &m.visits()[order[j]];
        let held = with.held.visit(visit);
        // The 管理票 rows: each 公費's share of the visit, as a window would collect it.
        for (s, (a, b)) in with.shares.iter().zip(&without.shares).enumerate() {
            rows[s] = if with.held.capped.contains(&(visit.id.clone(), s)) {
                a.0.saturating_sub(rows_so_far[s])
            } else {
                Rounding::TenHalfUp.apply(Yen(a.0.saturating_sub(b.0))).0
            };
            rows_so_far[s] += rows[s];
        }
        let exact = with.patient.0.saturating_sub(without.patient.0);
        let refund = without.patient.0.saturating_sub(with.patient.0);
        let window = if refund > 0 {
            0
        } else if held {
            with.patient.0.saturating_sub(collected)
        } else {
            Rounding::TenHalfUp.apply(Yen(exact)).0
        };
        if j == at {
            last = Some((with, without, exact, refund, window, held, collected));
        }
        collected = (collected + window).saturating_sub(refund);
    }
    let (with, without, exact, refund, window, held, earlier) =
        last.expect("the quoted visit is among the month's");
    // The whole month, for the receipts' amounts.
    let full = compute(m, masters, &order, None)?;
    let (exact, refund, window) = (Yen(exact), Yen(refund), Yen(window));
    let shares = rows.into_iter().map(Yen).collect();
    let mut trace = with.trace.clone();
    if at + 1 < order.len() {
        let later = order.len() - at - 1;
        trace.push(TraceLine::new(
            TraceCode::LaterVisits,
            0,
            format!("（この月の後の受診{later}件は、この受診の窓口負担に含みません。）"),
            format!("({later} later visit(s) of the month are not part of this visit's charge.)"),
        ));
    }
    if refund.0 > 0 {
        trace.push(TraceLine::new(
            TraceCode::WindowRefund,
            0,
            format!(
                "窓口：この受診を含めた月の患者負担の累計は{}、含めないと{}。累計が減った（公費の部分がレセプトの限度額に加わった）ため、{}を患者さんに返金します。",
                with.patient, without.patient, refund
            ),
            format!(
                "Window: with this visit the month's patient total so far is {}, without it {}: the total went down (a 公費 part now joins the receipt's limit); {} is due back to the patient.",
                with.patient, without.patient, refund
            ),
        ));
    } else if held {
        trace.push(TraceLine::new(
            TraceCode::WindowSettled,
            0,
            format!(
                "窓口：上限額または限度額で額が決まるため、この受診で月の負担を1円単位で精算します。月の患者負担の累計{} − これまでの窓口の徴収額{} = {}（月の窓口の合計が上限額・限度額と一致するよう、10円単位の端数処理はしません）。",
                with.patient,
                Yen(earlier),
                window
            ),
            format!(
                "Window: a cap or a limit sets the amount, so the visit settles the month to the yen: the month's patient total so far {} minus what the earlier windows collected {} = {} (not rounded to 10 yen, so that the month's windows add up to the cap or limit).",
                with.patient,
                Yen(earlier),
                window
            ),
        ));
    } else {
        trace.push(TraceLine::new(
            TraceCode::WindowRounded,
            0,
            format!(
                "窓口：月の患者負担の累計は、この受診を含めて{}、含めないで{}。この受診の分は{}、10円未満を四捨五入して（健康保険法第75条）{}。",
                with.patient, without.patient, exact, window
            ),
            format!(
                "Window: the month's patient total so far is {} with this visit and {} without it: the visit adds {}; rounded to 10 yen (5 yen and over up, 健康保険法 §75): {}.",
                with.patient, without.patient, exact, window
            ),
        ));
    }
    Ok(Quote {
        visit_id: visit_id.to_owned(),
        window_charge: window,
        to_the_yen: held && refund.0 == 0,
        meal_charge: Yen(with.meals.0.saturating_sub(without.meals.0)),
        earlier_windows: Yen(earlier),
        exact_charge: exact,
        refund,
        shares,
        shares_so_far: rows_so_far.into_iter().map(Yen).collect(),
        month_so_far: with.patient,
        month_without: without.patient,
        month: full,
        trace,
    })
}

/// The month's visits (by index) in date order; visits of one day in the order given.
fn canonical_order(m: &Month) -> Vec<usize> {
    let v = m.visits();
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by_key(|&i| v[i].date);
    order
}

/// A part of one receipt while it is computed.
struct PartState {
    /// The 公費 covering it, ascending (第1 first).
    set: Vec<usize>,
    cost: u64,
    /// (visit position, the visit's cost of this part).
    by_visit: Vec<(usize, u64)>,
    insurance: u64,
    high_cost: u64,
    /// What is left to the next payer (after the last: the patient's).
    left: u64,
    /// The copay after the part's own 高額 limit (decides whether it joins the receipt's).
    after_limit: u64,
}

struct Calc<'a> {
    m: &'a Month,
    limits: &'a HighCostLimits,
    meal_charges: &'a MealCharges,
    trace: Vec<TraceLine>,
    provisional: BTreeSet<String>,
    /// Per subsidy: the monthly cap used so far by the computed visits.
    used: Vec<u64>,
    /// Amounts on the 管理票 dated after this day are not counted (a visit's charge is computed
    /// as of its day); `None`: every one.
    until: Option<NaiveDate>,
    /// Per subsidy: fixed amounts charged so far (visits or days).
    times: Vec<u32>,
    shares: Vec<u64>,
    held: Held,
}

fn payers_label(m: &Month, set: &[usize]) -> String {
    let mut names: Vec<String> = Vec::new();
    if m.insurance().kind != InsuranceKind::None {
        names.push("医保".into());
    }
    for &s in set {
        names.push(format!("第{}公費 {}", s + 1, m.subsidies()[s].label));
    }
    names.join(" + ")
}

/// Computes the month over the visits `order` (indexes, in canonical order) and the amounts on
/// the 管理票 dated up to `until`.
fn compute(
    m: &Month,
    masters: &MasterSnapshot,
    order: &[usize],
    until: Option<NaiveDate>,
) -> Result<MonthCharges, ChargeError> {
    let visits: Vec<&Visit> = order.iter().map(|&i| &m.visits()[i]).collect();
    let n = m.subsidies().len();
    let mut calc = Calc {
        m,
        limits: masters.high_cost(),
        meal_charges: masters.meal_charges(),
        trace: Vec::new(),
        provisional: BTreeSet::new(),
        used: vec![0; n],
        until,
        held: Held::default(),
        times: vec![0; n],
        shares: vec![0; n],
    };
    calc.header(visits.len());
    let mut receipts = Vec::new();
    for setting in Setting::ALL {
        let vs: Vec<&Visit> = visits
            .iter()
            .copied()
            .filter(|v| v.setting == setting)
            .collect();
        if !vs.is_empty() {
            receipts.push(calc.receipt(setting, &vs)?);
        }
    }
    let meals = Yen(receipts
        .iter()
        .filter_map(|r| r.meals.as_ref().map(|m| m.patient.0))
        .sum());
    let patient = Yen(receipts.iter().map(|r| r.patient.0).sum::<u64>() + meals.0);
    calc.trace.push(TraceLine::new(
        TraceCode::MonthTotal,
        0,
        format!("当院でのこの月の合計：端数処理の前の患者負担は{patient}。"),
        format!("Month total at this institution: the patient pays {patient} before rounding."),
    ));
    let cap_remaining = m
        .subsidies()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            monthly_cap(s)
                .map(|cap| Yen(cap.saturating_sub(calc.used[i] + calc.elsewhere(i, until))))
        })
        .collect();
    Ok(MonthCharges {
        receipts,
        patient,
        meals,
        shares: calc.shares.iter().map(|&y| Yen(y)).collect(),
        cap_remaining,
        trace: calc.trace,
        provisional: calc.provisional.into_iter().collect(),
        held: calc.held,
    })
}

/// A subsidy's monthly cap (the same in every setting it covers, or the smallest).
fn monthly_cap(s: &Subsidy) -> Option<u64> {
    s.terms
        .iter()
        .flatten()
        .filter_map(|t| t.monthly_cap().map(|c| c.0))
        .min()
}

/// The patient's share of the 10割 cost at the insurance stage, in percent: all of it without
/// insurance (公費のみ).
fn insurance_rate(ins: &Insurance) -> u64 {
    if ins.kind == InsuranceKind::None {
        100
    } else {
        u64::from(ins.patient_rate_percent)
    }
}

/// The visits (positions) of each day, in order.
fn day_groups(vs: &[&Visit]) -> Vec<Vec<usize>> {
    let mut days: BTreeMap<NaiveDate, Vec<usize>> = BTreeMap::new();
    for (v, visit) in vs.iter().enumerate() {
        days.entry(visit.date).or_default().push(v);
    }
    days.into_values().collect()
}

/// The occasions a fixed amount is charged for, in date order, each the visits (positions) it
/// covers: a visit (with the departments that join it), a day, or a 初診 (with what joins it). A
/// visit that is not a treatment day, or outside every occasion, pays no fixed amount.
fn occasions(vs: &[&Visit], unit: CountUnit) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (v, visit) in vs.iter().enumerate() {
        let c = visit.consultation;
        if !c.treatment_day {
            continue;
        }
        let same_day = out.iter().rposition(|o| vs[o[0]].date == visit.date);
        let starts = match unit {
            CountUnit::Visit => !c.joins_visit,
            CountUnit::Day => false,
            CountUnit::FirstVisit => c.first_visit && !c.joins_visit,
        };
        match (starts, same_day, unit) {
            (true, _, _) => out.push(vec![v]),
            (false, Some(o), _) => out[o].push(v),
            (false, None, CountUnit::Visit | CountUnit::Day) => out.push(vec![v]),
            (false, None, CountUnit::FirstVisit) => {}
        }
    }
    out
}

/// Splits `total` over `weights` in proportion, to the yen (largest remainder; ties to the
/// first). Each share stays at or under its weight when `total` ≤ the weights' sum.
fn allocate(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let t = u128::from(total);
    let mut out: Vec<u64> = weights
        .iter()
        .map(|&w| (t * u128::from(w) / sum) as u64)
        .collect();
    let mut rest = total - out.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(t * u128::from(weights[i]) % sum));
    for i in order {
        if rest == 0 {
            break;
        }
        if out[i] < weights[i] {
            out[i] += 1;
            rest -= 1;
        }
    }
    out
}

impl Calc<'_> {
    fn header(&mut self, visits: usize) {
        let ins = self.m.insurance();
        let month = self.m.first_day().format("%Y-%m");
        let insurance = match ins.kind {
            InsuranceKind::None => {
                Words::new("医療保険なし（公費のみ）", "no health insurance (公費のみ)")
            }
            kind => {
                let name = if kind == InsuranceKind::LateElderly {
                    "後期高齢者"
                } else {
                    "医保"
                };
                let (share, group) = (ins.patient_rate_percent / 10, ins.age_group.label());
                Words::new(
                    format!("{name} {share}割（{group}）"),
                    format!("{name} {share}割 ({group})"),
                )
            }
        };
        let class = match (ins.class, &ins.class_given_as) {
            (Some(c), Some(given)) => Words::new(
                format!("高額療養費の区分 {c} {}（{given} として指定）", c.name()),
                format!("高額療養費 class {c} {} (given as {given})", c.name()),
            ),
            (Some(c), None) => Words::new(
                format!("高額療養費の区分 {c} {}", c.name()),
                format!("高額療養費 class {c} {}", c.name()),
            ),
            (None, _) => Words::new("高額療養費の区分の指定なし", "no 高額療養費 class given"),
        };
        let mut extras = Vec::new();
        if ins.many_times {
            extras.push(Words::new("多数回該当", "多数回該当"));
        }
        if ins.turning_75 {
            extras.push(Words::new(
                "75歳到達月（限度額は半額）",
                "75歳到達月 (limits halved)",
            ));
        }
        match ins.specific_disease {
            Some(SpecificDisease::Standard) => {
                extras.push(Words::new("特定疾病（マル長）", "特定疾病 (マル長)"))
            }
            Some(SpecificDisease::DialysisHighIncome) => extras.push(Words::new(
                "特定疾病（マル長、人工透析 上位所得）",
                "特定疾病 (マル長, 人工透析 上位所得)",
            )),
            None => {}
        }
        let extras = Words::join(&extras);
        let (ja_more, en_more) = if extras.en.is_empty() {
            (String::new(), String::new())
        } else {
            (format!("、{}", extras.ja), format!("; {}", extras.en))
        };
        self.trace.push(TraceLine::new(
            TraceCode::Month,
            0,
            format!(
                "{month}：受診{visits}件、{}、{}{ja_more}。",
                insurance.ja, class.ja
            ),
            format!(
                "Month {month}: {visits} visit(s); {}; {}{en_more}.",
                insurance.en, class.en
            ),
        ));
        if !ins.from_birthdate.is_empty() {
            let given = ins.from_birthdate.join("、");
            self.trace.push(TraceLine::new(
                TraceCode::FromBirthdate,
                0,
                format!("生年月日から：{given}（要求で指定した値が優先）。"),
                format!(
                    "From the patient's birthdate: {} (a flag given in the request wins).",
                    ins.from_birthdate.join(", ")
                ),
            ));
        }
        for (i, s) in self.m.subsidies().iter().enumerate() {
            let counted: Vec<(String, String)> = s
                .paid_elsewhere
                .iter()
                .filter(|e| s.shared_cap && self.until.is_none_or(|u| e.date <= u))
                .map(|e| {
                    (
                        format!("{} {}", e.date.format("%m-%d"), e.amount),
                        format!("{} on {}", e.amount, e.date.format("%m-%d")),
                    )
                })
                .collect();
            if !counted.is_empty() {
                let ja: Vec<&str> = counted.iter().map(|(j, _)| j.as_str()).collect();
                let en: Vec<&str> = counted.iter().map(|(_, e)| e.as_str()).collect();
                self.trace.push(TraceLine::new(
                    TraceCode::KanrihyoElsewhere,
                    0,
                    format!(
                        "第{}公費 {}：自己負担上限額管理票の額（ここでは計算せず、日付の位置で数えます）：{}。",
                        i + 1,
                        s.label,
                        ja.join("、")
                    ),
                    format!(
                        "第{}公費 {}: on the 自己負担上限額管理票 and not computed here: {} (each counted where its date falls among the visits).",
                        i + 1,
                        s.label,
                        en.join(", ")
                    ),
                ));
            }
        }
    }

    /// The charges of subsidy `s`'s fixed amount the 管理票 and the ledger hold before this
    /// receipt's occasion on `day` (and up to `until`): this institution's committed visits
    /// outside the quote (those with a payment, or every one when the programme counts all),
    /// and other institutions' visits when it counts them.
    fn counted_elsewhere(&self, s: usize, day: NaiveDate, counting: VisitCounting) -> u32 {
        self.m.subsidies()[s]
            .paid_elsewhere
            .iter()
            .filter(|e| e.date <= day && self.until.is_none_or(|u| e.date <= u))
            .filter(|e| {
                if e.own {
                    e.amount.0 > 0 || counting.when == CountWhen::Any
                } else {
                    counting.scope == CountScope::All
                }
            })
            .count() as u32
    }

    /// What the 管理票 holds for subsidy `s` (a shared cap) dated up to `day` and `until`.
    fn elsewhere(&self, s: usize, day: Option<NaiveDate>) -> u64 {
        let sub = &self.m.subsidies()[s];
        if !sub.shared_cap {
            return 0;
        }
        sub.paid_elsewhere
            .iter()
            .filter(|e| day.is_none_or(|d| e.date <= d) && self.until.is_none_or(|u| e.date <= u))
            .map(|e| e.amount.0)
            .sum()
    }

    /// A limit from the masters for `key`, applied to `cost`, in `care`.
    fn limit(&mut self, key: LimitKey, care: Care, cost: u64) -> Result<(u64, Words), ChargeError> {
        let ins = self.m.insurance();
        let day: NaiveDate = self.m.first_day();
        let group = match key {
            LimitKey::Class(c) => c.age_group(),
            LimitKey::TokuteiHigh => AgeGroup::Under70,
            _ => ins.age_group,
        };
        let row = self
            .limits
            .find(key, group, day)
            .ok_or_else(|| ChargeError::NoLimit {
                key: key.to_string(),
                group: group.label(),
                month: day.format("%Y-%m").to_string(),
            })?;
        if row.status == LimitStatus::Provisional {
            self.provisional
                .insert(format!("high_cost_limits.csv: {}", row.reference()));
        }
        let half = |y: u64| if ins.turning_75 { y / 2 } else { y };
        let (halved_ja, halved) = if ins.turning_75 {
            ("（75歳到達月のため半額）", ", halved (75歳到達月)")
        } else {
            ("", "")
        };
        let by_class = matches!(key, LimitKey::Class(_));
        let (amount, how) = if group == AgeGroup::SeventyPlus
            && care == Care::Outpatient
            && let Some(o) = row.outpatient
        {
            let o = Yen(half(o.0));
            (
                o.0,
                Words::new(format!("外来 {o}{halved_ja}"), format!("外来 {o}{halved}")),
            )
        } else if by_class
            && ins.many_times
            && let Some(mt) = row.many_times
        {
            let mt = Yen(half(mt.0));
            (
                mt.0,
                Words::new(
                    format!("多数回 {mt}{halved_ja}"),
                    format!("多数回 {mt}{halved}"),
                ),
            )
        } else if let Some(t) = row.threshold {
            let base = half(row.monthly.0);
            let t = half(t.0);
            let over = cost.saturating_sub(t);
            let one = Rounding::Yen
                .share(over * u64::from(row.percent_over_threshold), 100)
                .0;
            let how = if over == 0 {
                Words::new(
                    format!(
                        "{}（医療費{}は{}以下のため1%の加算なし）{halved_ja}",
                        Yen(base),
                        Yen(cost),
                        Yen(t)
                    ),
                    format!(
                        "{} (the cost {} is not over {}: no 1% part){halved}",
                        Yen(base),
                        Yen(cost),
                        Yen(t)
                    ),
                )
            } else {
                let formula = format!(
                    "{} + ({} − {}) × 1% = {}",
                    Yen(base),
                    Yen(cost),
                    Yen(t),
                    Yen(base + one)
                );
                Words::new(
                    format!("{formula}{halved_ja}"),
                    format!("{formula}{halved}"),
                )
            };
            (base + one, how)
        } else {
            let b = Yen(half(row.monthly.0));
            (
                b.0,
                Words::new(format!("{b}{halved_ja}"), format!("{b}{halved}")),
            )
        };
        Ok((
            amount,
            Words::new(
                format!("{}：{}", row.reference_ja(), how.ja),
                format!("{}: {}", row.reference(), how.en),
            ),
        ))
    }

    /// The 後期 2割 配慮措置 (高齢者の医療の確保に関する法律施行令 附則; the dated row
    /// `late_elderly_care`): for a 一般Ⅱ outpatient, the copay of the items no 公費 covers is
    /// held to `monthly + (their cost − threshold) × percent %` — 6,000 + (cost − 30,000) × 10 %
    /// from 2022-10 to 2025-09 — paid as 高額療養費 in kind. 公費 parts are not subject to it;
    /// not halved in the 75歳到達月; not with 特定疾病 (MHLW's worked cases 6, 7, 16, 21).
    fn late_elderly_care(
        &mut self,
        setting: Setting,
        parts: &mut [PartState],
    ) -> Result<(), ChargeError> {
        let ins = self.m.insurance();
        let applies = ins.kind == InsuranceKind::LateElderly
            && ins.class.is_some_and(|c| c.is_general_ii())
            && ins.specific_disease.is_none();
        if !applies {
            return Ok(());
        }
        let Some(row) = self.limits.find(
            LimitKey::LateElderlyCare,
            AgeGroup::SeventyPlus,
            self.m.first_day(),
        ) else {
            return Ok(());
        };
        if row.status == LimitStatus::Provisional {
            self.provisional
                .insert(format!("high_cost_limits.csv: {}", row.reference()));
        }
        // The items no national 公費 covers (a local programme is disregarded here too).
        let base: Vec<usize> = (0..parts.len())
            .filter(|&i| parts[i].set.iter().all(|&s| self.m.subsidies()[s].local))
            .collect();
        if base.is_empty() {
            return Ok(());
        }
        let cost: u64 = base.iter().map(|&i| parts[i].cost).sum();
        let left: u64 = base.iter().map(|&i| parts[i].left).sum();
        let t = row.threshold.map_or(0, |t| t.0);
        let over = cost.saturating_sub(t);
        let limit = row.monthly.0
            + Rounding::Yen
                .share(over * u64::from(row.percent_over_threshold), 100)
                .0;
        let until = row.valid_to.map_or_else(String::new, |d| d.to_string());
        let formula = format!(
            "{} + ({} − {}) × {}% = {}",
            row.monthly,
            Yen(cost),
            Yen(t),
            row.percent_over_threshold,
            Yen(limit)
        );
        let how = Words::new(
            format!(
                "{}（{}〜{}）：保険のみの項目の自己負担を {formula} までとします",
                row.name, row.valid_from, until
            ),
            format!(
                "{} ({} to {}): the insurance-only items' copay is held to {formula}",
                row.name, row.valid_from, until
            ),
        );
        if cost > t && left > limit {
            self.held.receipts.insert(setting);
            let mut excess = left - limit;
            self.trace.push(TraceLine::new(
                TraceCode::LateElderlyCareOver,
                1,
                format!(
                    "{}。自己負担{}が超えるため、高額療養費が{}を現物給付します。",
                    how.ja,
                    Yen(left),
                    Yen(excess)
                ),
                format!(
                    "{}: their copay {} is over it; 高額療養費 pays {} in kind.",
                    how.en,
                    Yen(left),
                    Yen(excess)
                ),
            ));
            for i in base {
                let take = parts[i].left.min(excess);
                parts[i].left -= take;
                parts[i].high_cost += take;
                excess -= take;
            }
        } else {
            self.trace.push(TraceLine::new(
                TraceCode::LateElderlyCareWithin,
                1,
                format!("{}。自己負担{}はその範囲内です。", how.ja, Yen(left)),
                format!("{}: their copay {} is within it.", how.en, Yen(left)),
            ));
        }
        Ok(())
    }

    /// The meals of an inpatient receipt's visits (健康保険法 §85: the patient's 標準負担額 per
    /// meal by class and date), and what the 公費 covering the receipt do with them, in receipt
    /// order (the masters' meal rules): outside the 高額 limits and the 公費 caps.
    fn meals(&mut self, vs: &[&Visit]) -> Result<Option<ReceiptMeals>, ChargeError> {
        let days: Vec<_> = vs.iter().flat_map(|v| v.meals.iter()).collect();
        if days.is_empty() {
            return Ok(None);
        }
        let m = self.m;
        let ins = m.insurance();
        let covering: BTreeSet<usize> = vs
            .iter()
            .flat_map(|v| v.parts.iter().flat_map(|p| p.subsidies.iter().copied()))
            .collect();
        let designated = covering.iter().any(|&s| {
            m.subsidies()[s]
                .meals
                .is_some_and(|r| matches!(r.rule, MealRule::Reduced | MealRule::Half))
        });
        let by_class = ins.class.and_then(|c| match c.name() {
            "オ" | "オ（境）" | "低所得Ⅱ" if ins.long_stay => {
                Some(MealClass::LowIncomeIiLong)
            }
            "オ" | "オ（境）" | "低所得Ⅱ" => Some(MealClass::LowIncomeIi),
            "低所得Ⅰ" => Some(MealClass::LowIncomeI),
            _ => None,
        });
        let (class, why_ja, why) = match (ins.meal_class, by_class) {
            (Some(c), _) => (c, "指定のとおり", "as given"),
            (None, Some(c)) => (c, "高額療養費の区分から", "by the 高額 class"),
            (None, None) if designated => (
                MealClass::DesignatedDisease,
                "指定難病・小慢",
                "指定難病・小慢",
            ),
            (None, None) => (MealClass::General, "一般", "一般"),
        };
        let mut count = 0u32;
        let mut standard = 0u64;
        let mut rates = BTreeSet::new();
        for d in days {
            let row =
                self.meal_charges
                    .find(class, d.date)
                    .ok_or_else(|| ChargeError::NoMealCharge {
                        class: class.key(),
                        date: d.date.to_string(),
                    })?;
            if row.status == LimitStatus::Provisional {
                self.provisional
                    .insert(format!("meal_charges.csv: {}", row.reference()));
            }
            rates.insert((
                format!("1食{}（{}）", row.per_meal, row.reference_ja()),
                format!("{} a meal ({})", row.per_meal, row.reference()),
            ));
            count += u32::from(d.count);
            standard += row.per_meal.0 * u64::from(d.count);
        }
        let mut left = standard;
        let mut by_subsidy = Vec::new();
        let mut how: Vec<Words> = Vec::new();
        for &s in &covering {
            let sub = &m.subsidies()[s];
            let name = format!("第{}公費 {}", s + 1, sub.label);
            let Some(rule) = sub.meals else {
                self.provisional.insert(format!(
                    "meal_programme_rules.csv: no rule for {}: its patient pays the meals",
                    sub.label
                ));
                how.push(Words::new(
                    format!("{name}は食事の決まりがマスタにありません（患者負担）"),
                    format!("{name} has no meal rule in the masters (the patient pays)"),
                ));
                continue;
            };
            if rule.provisional {
                self.provisional.insert(format!(
                    "meal_programme_rules.csv: {} ({:?})",
                    sub.label, rule.rule
                ));
            }
            let pays = match rule.rule {
                MealRule::Pays => left,
                MealRule::Half => left / 2,
                MealRule::Reduced | MealRule::None => 0,
            };
            if pays > 0 {
                how.push(Words::new(
                    format!("{name}が{}を負担", Yen(pays)),
                    format!("{name} pays {}", Yen(pays)),
                ));
                by_subsidy.push((s, Yen(pays)));
                left -= pays;
            }
        }
        let how = Words::join(&how);
        let rates_ja: Vec<&str> = rates.iter().map(|(j, _)| j.as_str()).collect();
        let rates_en: Vec<&str> = rates.iter().map(|(_, e)| e.as_str()).collect();
        self.trace.push(TraceLine::new(
            TraceCode::Meals,
            1,
            format!(
                "食事（入院時食事療養・生活療養）：{count}食、{}の区分（{why_ja}）：{}。標準負担額{}{}。患者負担は{}（高額療養費の限度額と公費の上限額の外）。",
                class.name_ja(),
                rates_ja.join("、"),
                Yen(standard),
                if how.ja.is_empty() {
                    String::new()
                } else {
                    format!("、{}", how.ja)
                },
                Yen(left)
            ),
            format!(
                "Meals (入院時食事療養・生活療養): {count}, the {} class ({why}): {}; 標準負担額 {}{}; the patient pays {} (outside the 高額 limits and the 公費 caps).",
                class.key(),
                rates_en.join(", "),
                Yen(standard),
                if how.en.is_empty() {
                    String::new()
                } else {
                    format!("; {}", how.en)
                },
                Yen(left)
            ),
        ));
        Ok(Some(ReceiptMeals {
            count,
            class,
            standard: Yen(standard),
            by_subsidy,
            patient: Yen(left),
        }))
    }

    /// The 特定疾病 limit, when the patient has one.
    fn tokutei(&mut self, care: Care) -> Result<Option<(u64, Words)>, ChargeError> {
        let ins = self.m.insurance();
        let key = match ins.specific_disease {
            None => return Ok(None),
            Some(SpecificDisease::DialysisHighIncome) if ins.age_group == AgeGroup::Under70 => {
                LimitKey::TokuteiHigh
            }
            Some(_) => LimitKey::Tokutei,
        };
        self.limit(key, care, 0).map(Some)
    }

    fn receipt(&mut self, setting: Setting, vs: &[&Visit]) -> Result<ReceiptCharges, ChargeError> {
        let m = self.m;
        let ins = m.insurance();
        let has_insurance = ins.kind != InsuranceKind::None;
        let rate = insurance_rate(ins);
        let care = setting.care();
        let cost: u64 = vs.iter().map(|v| v.cost().0).sum();
        self.trace.push(TraceLine::new(
            TraceCode::Receipt,
            0,
            format!(
                "レセプト {}（受診{}件、医療費{}）：",
                setting.label(),
                vs.len(),
                Yen(cost)
            ),
            format!(
                "Receipt {} ({} visit(s), cost {}):",
                setting.label(),
                vs.len(),
                Yen(cost)
            ),
        ));
        // 1. Parts by payer set.
        let mut grouped: BTreeMap<Vec<usize>, Vec<(usize, u64)>> = BTreeMap::new();
        for (i, v) in vs.iter().enumerate() {
            for p in &v.parts {
                grouped
                    .entry(p.subsidies.clone())
                    .or_default()
                    .push((i, p.cost.0));
            }
        }
        let mut parts: Vec<PartState> = Vec::new();
        for (set, by_visit) in grouped {
            let cost: u64 = by_visit.iter().map(|(_, c)| c).sum();
            let copay = Rounding::Yen.share(cost * rate, 100).0;
            let insurance = cost - copay;
            let label = payers_label(m, &set);
            if has_insurance {
                self.trace.push(TraceLine::new(
                    TraceCode::PartInsured,
                    1,
                    format!(
                        "部分［{label}］：医療費{}、保険給付{}割 = {}、自己負担{}% = {}。",
                        Yen(cost),
                        (100 - rate) / 10,
                        Yen(insurance),
                        rate,
                        Yen(copay)
                    ),
                    format!(
                        "Part [{label}]: cost {}; insurance pays {}割 = {}; copay {}% = {}.",
                        Yen(cost),
                        (100 - rate) / 10,
                        Yen(insurance),
                        rate,
                        Yen(copay)
                    ),
                ));
            } else {
                self.trace.push(TraceLine::new(
                    TraceCode::PartUninsured,
                    1,
                    format!(
                        "部分［{label}］：医療費{}、保険なし：全額を公費が受け持ちます。",
                        Yen(cost)
                    ),
                    format!(
                        "Part [{label}]: cost {}; no insurance: all of it is left to the 公費.",
                        Yen(cost)
                    ),
                ));
            }
            parts.push(PartState {
                set,
                cost,
                by_visit,
                insurance,
                high_cost: 0,
                left: copay,
                after_limit: copay,
            });
        }
        // 2. A 公費 part's own 高額 limit.
        let tokutei = if has_insurance {
            self.tokutei(care)?
        } else {
            None
        };
        for p in parts.iter_mut() {
            if !has_insurance || p.set.is_empty() {
                continue;
            }
            let first = &m.subsidies()[p.set[0]];
            let limit = match first.kohi_limit {
                KohiLimitRule::Specific => {
                    Some(self.limit(LimitKey::KohiSpecific, care, p.cost)?)
                }
                KohiLimitRule::Welfare => Some(self.limit(LimitKey::KohiWelfare, care, p.cost)?),
                KohiLimitRule::PatientClass => match ins.class {
                    Some(c) => Some(self.limit(LimitKey::Class(c), care, p.cost)?),
                    None => {
                        self.trace.push(TraceLine::new(
                            TraceCode::PartLimitNoClass,
                            2,
                            format!(
                                "{}の部分の限度額は患者さんの高額療養費の区分で決まりますが、区分の指定がないため限度額を適用していません。",
                                first.label
                            ),
                            format!(
                                "{}'s part is limited by the patient's 高額療養費 class, which was not given: no limit applied to it.",
                                first.label
                            ),
                        ));
                        None
                    }
                },
                KohiLimitRule::None => None,
            };
            let limit = match (limit, tokutei.clone()) {
                (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
                (a, b) => a.or(b),
            };
            if let Some((l, how)) = limit {
                if p.left > l {
                    self.held.receipts.insert(setting);
                    p.high_cost = p.left - l;
                    self.trace.push(TraceLine::new(
                        TraceCode::PartLimitOver,
                        2,
                        format!(
                            "公費の部分の限度額 {}：自己負担{}が超えるため、高額療養費が{}を現物給付し、{}が残ります。",
                            how.ja,
                            Yen(p.left),
                            Yen(p.high_cost),
                            Yen(l)
                        ),
                        format!(
                            "公費 part limit {}: copay {} is over it; 高額療養費 pays {} in kind, {} is left.",
                            how.en,
                            Yen(p.left),
                            Yen(p.high_cost),
                            Yen(l)
                        ),
                    ));
                    p.left = l;
                } else {
                    self.trace.push(TraceLine::new(
                        TraceCode::PartLimitWithin,
                        2,
                        format!(
                            "公費の部分の限度額 {}：自己負担{}はその範囲内です。",
                            how.ja,
                            Yen(p.left)
                        ),
                        format!(
                            "公費 part limit {}: copay {} is within it.",
                            how.en,
                            Yen(p.left)
                        ),
                    ));
                }
            }
            p.after_limit = p.left;
        }
        // 3. Each national 公費 in order.
        let mut amounts: Vec<SubsidyAmounts> = Vec::new();
        let stage = |this: &mut Self,
                     parts: &mut Vec<PartState>,
                     amounts: &mut Vec<SubsidyAmounts>,
                     local: bool|
         -> Result<(), ChargeError> {
            for s in 0..m.subsidies().len() {
                if m.subsidies()[s].local != local {
                    continue;
                }
                let on: Vec<usize> = (0..parts.len())
                    .filter(|&i| parts[i].set.contains(&s))
                    .collect();
                if !on.is_empty() {
                    let a = this.subsidy_stage(s, setting, vs, parts, &on)?;
                    amounts.push(a);
                }
            }
            Ok(())
        };
        stage(self, &mut parts, &mut amounts, false)?;
        // 後期 2割 配慮措置 on the items no national 公費 covers (before the 外来 limit).
        if has_insurance && care == Care::Outpatient {
            self.late_elderly_care(setting, &mut parts)?;
        }
        // 4. The receipt's class limit, on the amounts the national 公費 left: a local programme
        // (地単) is disregarded by 高額療養費 and pays last.
        let mut receipt_high = 0;
        if has_insurance {
            self.receipt_limit(setting, &mut parts, tokutei, &mut receipt_high)?;
        }
        // 5. Each local programme in order, on what is left to the patient.
        stage(self, &mut parts, &mut amounts, true)?;
        amounts.sort_by_key(|a| a.subsidy);
        let insurance: u64 = parts.iter().map(|p| p.insurance).sum();
        let high: u64 = parts.iter().map(|p| p.high_cost).sum::<u64>() + receipt_high;
        let patient: u64 = parts.iter().map(|p| p.left).sum();
        let pays: u64 = amounts.iter().map(|a| a.pays.0).sum();
        debug_assert_eq!(insurance + high + pays + patient, cost, "parts add up");
        self.trace.push(TraceLine::new(
            TraceCode::ReceiptTotal,
            1,
            format!(
                "レセプト {}：保険{}、高額療養費{}、公費{}、患者{}（= 医療費{}）。",
                setting.label(),
                Yen(insurance),
                Yen(high),
                Yen(pays),
                Yen(patient),
                Yen(cost)
            ),
            format!(
                "Receipt {}: insurance {}, 高額療養費 {}, 公費 {}, patient {} (= cost {}).",
                setting.label(),
                Yen(insurance),
                Yen(high),
                Yen(pays),
                Yen(patient),
                Yen(cost)
            ),
        ));
        let meals = self.meals(vs)?;
        Ok(ReceiptCharges {
            setting,
            visits: vs.len(),
            cost: Yen(cost),
            insurance: Yen(insurance),
            high_cost: Yen(high),
            subsidies: amounts,
            patient: Yen(patient),
            meals,
        })
    }

    /// The stage of the `s`-th 公費 on the parts `on` it covers in this receipt.
    fn subsidy_stage(
        &mut self,
        s: usize,
        setting: Setting,
        vs: &[&Visit],
        parts: &mut [PartState],
        on: &[usize],
    ) -> Result<SubsidyAmounts, ChargeError> {
        let m = self.m;
        let sub = &m.subsidies()[s];
        let has_insurance = m.insurance().kind != InsuranceKind::None;
        let insurance_rate = insurance_rate(m.insurance());
        let terms = *sub
            .terms_for(setting)
            .expect("Month::new checked every part's subsidies cover its setting");
        let name = format!("第{}公費 {}", s + 1, sub.label);
        let left_total: u64 = on.iter().map(|&i| parts[i].left).sum();
        let mut how: Vec<Words> = Vec::new();
        let rate = match terms.method {
            Method::Rate { percent } => {
                let p = u64::from(percent);
                if sub.rate_rule == RateRule::LowerOfInsurance
                    && has_insurance
                    && insurance_rate < p
                {
                    how.push(Words::new(
                        format!("10割の医療費の{insurance_rate}%（保険の負担割合。公費の{p}%より低いため）"),
                        format!("{insurance_rate}% of the 10割 cost (the insurance rate, lower than the programme's {p}%)"),
                    ));
                    Some(insurance_rate)
                } else {
                    how.push(Words::new(
                        format!("10割の医療費の{p}%"),
                        format!("{p}% of the 10割 cost"),
                    ));
                    Some(p)
                }
            }
            _ => None,
        };
        // Per visit and part: this 公費's raw share before caps, and the insurance-stage copay.
        let k = on.len();
        let mut raw = vec![vec![0u64; k]; vs.len()];
        let mut copay = vec![vec![0u64; k]; vs.len()];
        for (j, &i) in on.iter().enumerate() {
            for &(v, c) in &parts[i].by_visit {
                copay[v][j] += Rounding::Yen.share(c * insurance_rate, 100).0;
                if let Some(r) = rate {
                    raw[v][j] += terms.rounding.share(c * r, 100).0;
                }
            }
        }
        // What is left to it of each visit's copay on each part (after the part's own limit and
        // the 公費 before it), split over the visits by their copay.
        let mut left = vec![vec![0u64; k]; vs.len()];
        for (j, &i) in on.iter().enumerate() {
            let weights: Vec<u64> = (0..vs.len()).map(|v| copay[v][j]).collect();
            for (v, l) in allocate(parts[i].left, &weights).into_iter().enumerate() {
                left[v][j] = l;
            }
        }
        // Fixed amounts: one per occasion — a visit, a day or a 初診, as the programme counts —
        // never over the occasion's copay, and nothing once charged `charged_times_per_month`
        // times (counting what the programme counts: paid occasions or all, here or everywhere).
        let fixed_amount = match terms.method {
            Method::PerVisit { amount } | Method::PerDay { amount } => Some(amount),
            _ => None,
        };
        if let Some(amount) = fixed_amount {
            let counting = terms.counting;
            let unit = match terms.method {
                Method::PerDay { .. } => CountUnit::Day,
                _ => counting.unit,
            };
            let times_cap = terms.charged_times_per_month.map(u32::from);
            for occasion in occasions(vs, unit) {
                // What is left to it on the occasion: nothing when another 公費 made it free.
                let c: u64 = occasion.iter().flat_map(|&v| left[v].iter()).sum();
                let date = vs[occasion[0]].date;
                let before = self.times[s] + self.counted_elsewhere(s, date, counting);
                let take = if times_cap.is_none_or(|n| before < n) {
                    amount.0.min(c)
                } else {
                    0
                };
                if take > 0 || counting.when == CountWhen::Any {
                    self.times[s] += 1;
                }
                let per_visit: Vec<u64> = occasion.iter().map(|&v| left[v].iter().sum()).collect();
                for (&v, t) in occasion.iter().zip(allocate(take, &per_visit)) {
                    raw[v] = allocate(t, &left[v]);
                }
            }
            let (per_ja, per) = match unit {
                CountUnit::Visit => ("1回", "visit"),
                CountUnit::Day => ("1日", "day"),
                CountUnit::FirstVisit => ("初診", "初診 (first consultation)"),
            };
            how.push(Words::new(
                format!("{per_ja}{amount}（自己負担がそれより少なければその額）"),
                format!("{amount} per {per} (or the copay if lower)"),
            ));
            if counting.scope == CountScope::All {
                how.push(Words::new(
                    "管理票にある他の医療機関の受診も数えます",
                    "counting the visits at other institutions on the 管理票",
                ));
            }
            if counting.when == CountWhen::Any {
                how.push(Words::new(
                    "他の公費で無料になった受診も数えます",
                    "counting also visits another 公費 made free",
                ));
            }
        }
        match terms.method {
            Method::PerVisit { .. } | Method::PerDay { .. } => {}
            Method::CopayRate { percent } => {
                for (v, r) in raw.iter_mut().enumerate() {
                    for (j, x) in r.iter_mut().enumerate() {
                        *x = terms.rounding.share(left[v][j] * u64::from(percent), 100).0;
                    }
                }
                how.push(Words::new(
                    format!("受け持つ自己負担の{percent}%"),
                    format!("{percent}% of the copay left to it"),
                ));
            }
            Method::Monthly { amount } => {
                raw.clone_from(&copay);
                how.push(Words::new(
                    format!("月{amount}まで（本人支払額）"),
                    format!("up to {amount} a month (本人支払額)"),
                ));
            }
            Method::Free => how.push(Words::new("自己負担なし", "nothing to pay under it")),
            Method::Rate { .. } => {}
        }
        if let Some(n) = terms.charged_times_per_month {
            how.push(Words::new(
                format!("徴収は月{n}回まで"),
                format!("charged at most {n} times a month"),
            ));
        }
        if terms.rounding != Rounding::Yen && rate.is_some() {
            how.push(Words::new(
                format!("端数は{}", terms.rounding.label()),
                format!("rounded {}", terms.rounding.label()),
            ));
        }
        // Caps per visit, then per day.
        if let Some(c) = terms.caps.per_visit {
            how.push(Words::new(
                format!("1回の上限{c}"),
                format!("cap {c} per visit"),
            ));
            for r in raw.iter_mut() {
                let t: u64 = r.iter().sum();
                if t > c.0 {
                    *r = allocate(c.0, r);
                }
            }
        }
        if let Some(c) = terms.caps.per_day {
            how.push(Words::new(
                format!("1日の上限{c}"),
                format!("cap {c} per day"),
            ));
            for day in day_groups(vs) {
                let per_visit: Vec<u64> = day.iter().map(|&v| raw[v].iter().sum()).collect();
                if per_visit.iter().sum::<u64>() > c.0 {
                    for (&v, t) in day.iter().zip(allocate(c.0, &per_visit)) {
                        raw[v] = allocate(t, &raw[v]);
                    }
                }
            }
        }
        // The month's cap, in date order: the visit that reaches it is cut to the remainder.
        // Amounts on the 管理票 count where their date falls: before this institution's visits
        // of the same day (they were written when the patient came in).
        if let Some(cap) = terms.monthly_cap().map(|c| c.0) {
            let before = self.elsewhere(s, vs.first().map(|v| v.date));
            let (used, remaining) = (
                Yen(self.used[s] + before),
                Yen(cap.saturating_sub(self.used[s] + before)),
            );
            how.push(Words::new(
                format!(
                    "月の上限額{}{}、このレセプトの最初の受診の前に{}使用済み、残り{}",
                    Yen(cap),
                    if sub.shared_cap {
                        "（管理票で共有）"
                    } else {
                        ""
                    },
                    used,
                    remaining
                ),
                format!(
                    "monthly cap {}{} with {} used before this receipt's first visit: {} remaining",
                    Yen(cap),
                    if sub.shared_cap {
                        " (shared, 管理票)"
                    } else {
                        ""
                    },
                    used,
                    remaining
                ),
            ));
            let mut here = self.used[s];
            for (v, r) in raw.iter_mut().enumerate() {
                let used = here + self.elsewhere(s, Some(vs[v].date));
                let t: u64 = r.iter().sum();
                let take = t.min(cap.saturating_sub(used));
                here += take;
                if take < t {
                    *r = allocate(take, r);
                    self.held.capped.insert((vs[v].id.clone(), s));
                }
            }
        }
        // Never more than what is left to it on each part.
        let mut share = 0;
        let before: Vec<u64> = on.iter().map(|&i| parts[i].left).collect();
        for (j, &i) in on.iter().enumerate() {
            let part: u64 = raw.iter().map(|r| r[j]).sum();
            let p = part.min(parts[i].left);
            parts[i].left = p;
            share += p;
        }
        self.used[s] += share;
        self.shares[s] += share;
        // Without a 限度額適用認定証 some programmes pay only up to a class's limit: above it the
        // patient pays at the window and claims 高額療養費 from the insurer later.
        if let (Some(c), None, true) = (
            terms.class_without_certificate,
            m.insurance().class,
            has_insurance,
        ) {
            let cost: u64 = on.iter().map(|&i| parts[i].cost).sum();
            let (limit, how_limit) = self.limit(LimitKey::Class(c), setting.care(), cost)?;
            let mut extra = left_total.saturating_sub(limit);
            if extra > 0 {
                for (j, &i) in on.iter().enumerate() {
                    let add = (before[j] - parts[i].left).min(extra);
                    parts[i].left += add;
                    share += add;
                    extra -= add;
                }
                how.push(Words::new(
                    format!(
                        "限度額適用認定証がないため、限度額 {} までしか負担しません。超える分は患者負担（高額療養費は後日請求）",
                        how_limit.ja
                    ),
                    format!(
                        "no 限度額適用認定証: it pays only up to the limit {}; above it the patient pays (高額療養費 is claimed later)",
                        how_limit.en
                    ),
                ));
            }
        }
        let pays = left_total - share;
        let how = Words::join(&how);
        self.trace.push(TraceLine::new(
            TraceCode::Subsidy,
            1,
            format!(
                "{name}：受け持つ額{}、患者負担：{} → {}、公費の負担{}。",
                Yen(left_total),
                how.ja,
                Yen(share),
                Yen(pays)
            ),
            format!(
                "{name}: {} is left to it; the patient's share: {} → {}; it pays {}.",
                Yen(left_total),
                how.en,
                Yen(share),
                Yen(pays)
            ),
        ));
        Ok(SubsidyAmounts {
            subsidy: s,
            label: sub.label.clone(),
            covered_cost: Yen(on.iter().map(|&i| parts[i].cost).sum()),
            works_on: Yen(left_total),
            patient_share: Yen(share),
            pays: Yen(pays),
        })
    }

    fn receipt_limit(
        &mut self,
        setting: Setting,
        parts: &mut [PartState],
        tokutei: Option<(u64, Words)>,
        high: &mut u64,
    ) -> Result<(), ChargeError> {
        let care = setting.care();
        let ins = self.m.insurance();
        let under70 = ins.age_group == AgeGroup::Under70;
        let joined: Vec<usize> = (0..parts.len())
            .filter(|&i| {
                let p = &parts[i];
                let own_limit = p
                    .set
                    .first()
                    .is_some_and(|&s| self.m.subsidies()[s].kohi_limit != KohiLimitRule::None);
                !own_limit || !under70 || p.after_limit >= JOIN_THRESHOLD.0
            })
            .collect();
        for (i, p) in parts.iter().enumerate() {
            if !joined.contains(&i) {
                let label = payers_label(self.m, &p.set);
                self.trace.push(TraceLine::new(
                    TraceCode::PartNotJoined,
                    1,
                    format!(
                        "部分［{label}］はレセプトの限度額に加わりません：自身の限度額の後の自己負担{}が{}未満です（70歳未満）。",
                        Yen(p.after_limit),
                        JOIN_THRESHOLD
                    ),
                    format!(
                        "The part [{label}] does not join the receipt's limit: its copay after its own limit, {}, is under {} (70歳未満).",
                        Yen(p.after_limit),
                        JOIN_THRESHOLD
                    ),
                ));
            }
        }
        if joined.is_empty() {
            return Ok(());
        }
        let cost: u64 = joined.iter().map(|&i| parts[i].cost).sum();
        let class_limit = match ins.class {
            Some(c) => Some(self.limit(LimitKey::Class(c), care, cost)?),
            None => None,
        };
        let limit = match (class_limit, tokutei) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        let Some((limit, how)) = limit else {
            self.trace.push(TraceLine::new(
                TraceCode::ReceiptNoClass,
                1,
                "高額療養費の区分の指定がないため、レセプトの合計に区分の限度額を適用していません（限度額適用認定証の提示か、オン資での同意があれば適用されます）。",
                "No 高額療養費 class was given: the receipt's total is not held to a class limit (a patient who shows a 限度額適用認定証 or consents to it at オン資 gets the limit).",
            ));
            return Ok(());
        };
        let patient: u64 = joined.iter().map(|&i| parts[i].left).sum();
        if patient <= limit {
            self.trace.push(TraceLine::new(
                TraceCode::ReceiptLimitWithin,
                1,
                format!(
                    "レセプトの限度額 {}：患者負担{}はその範囲内です。",
                    how.ja,
                    Yen(patient)
                ),
                format!(
                    "Receipt limit {}: the patient's {} is within it.",
                    how.en,
                    Yen(patient)
                ),
            ));
            return Ok(());
        }
        let excess = patient - limit;
        self.held.receipts.insert(setting);
        *high += excess;
        self.trace.push(TraceLine::new(
            TraceCode::ReceiptLimitOver,
            1,
            format!(
                "レセプトの限度額 {}：患者負担{}が超えるため、高額療養費が{}を現物給付します。",
                how.ja,
                Yen(patient),
                Yen(excess)
            ),
            format!(
                "Receipt limit {}: the patient's {} is over it; 高額療養費 pays {} in kind.",
                how.en,
                Yen(patient),
                Yen(excess)
            ),
        ));
        take_from_patient(self.m, parts, joined, excess);
        Ok(())
    }
}

/// Lowers the patient's amounts on the parts `among` by `excess` (paid by 高額療養費 instead):
/// first on the parts no local programme covers (there it lowers what the patient pays; a local
/// programme, paying last, would take what is left of its parts anyway) — the insurance-only
/// items, then the 公費 parts, last 公費 first.
fn take_from_patient(m: &Month, parts: &mut [PartState], mut among: Vec<usize>, mut excess: u64) {
    let local = |p: &PartState| p.set.iter().any(|&s| m.subsidies()[s].local);
    among.sort_by_key(|&i| {
        (
            local(&parts[i]),
            !parts[i].set.is_empty(),
            std::cmp::Reverse(parts[i].set.clone()),
        )
    });
    for i in among {
        let take = parts[i].left.min(excess);
        parts[i].left -= take;
        excess -= take;
    }
}

#[cfg(test)]
mod allocate_tests {
    use super::allocate;

    #[test]
    fn shares_follow_the_weights_and_add_up() {
        assert_eq!(allocate(2, &[1, 1, 1]), [1, 1, 0]);
        assert_eq!(allocate(10, &[4, 4, 4]), [4, 3, 3]);
        assert_eq!(allocate(2500, &[10000, 0, 5000]), [1667, 0, 833]);
        assert_eq!(allocate(0, &[0, 0]), [0, 0]);
        assert_eq!(allocate(7, &[7]), [7]);
    }
}
