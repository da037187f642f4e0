//! Window charges: what insurance, 高額療養費 (in kind), each 公費 and the patient pay for a
//! month of visits at this institution, and what one visit costs at the window.
//!
//! Invariants: pure (no I/O, no clock: dates come in the input; limits come from the masters
//! passed in); amounts are whole yen and every receipt's parts add up to its cost exactly
//! (insurance + 高額 + every 公費 + patient = cost) before the window's 10-yen rounding; the
//! result does not depend on the order visits of different days are given in (visits of one
//! day count in the order given, amounts on the 管理票 where their date falls); every step is written to a trace a
//! clerk can follow.
//!
//! The model (each step cites its rule in the trace):
//! 1. visits are grouped into receipts (医科 入院, 医科 外来, 調剤), and a receipt's items into
//!    parts: the items one set of payers covers (one 負担区分);
//! 2. insurance pays its 給付率 of each part's 10割 cost; the rest is the part's copay;
//! 3. a part a 公費 covers is held to that 公費's 高額療養費 limit (特定給付対象療養, the
//!    patient's class, or 生活保護), the excess paid by 高額療養費 in kind;
//! 4. each national 公費, 第1 first, sets the patient's share of what is left to it on its parts (a rate
//!    of the 10割 cost or a fixed amount, then caps per visit, day and month — the month's cap
//!    shared with other institutions where the programme says so) and pays the rest; a 第2公費
//!    works on what the 第1 left to the patient;
//! 5. for a 後期 一般Ⅱ outpatient in 2022-10 to 2025-09, the items no 公費 covers are held to
//!    the 配慮措置 (a dated row of the limits), the excess 高額 in kind;
//! 6. the receipt is held to the patient's own class limit on the cost of the parts that join
//!    it, the excess again 高額: under 70 a 公費 part joins only when its copay after step 3 is
//!    21,000 yen or more (健康保険法施行令 第41条); one that stays out is not held to the limit,
//!    and the rest is held to it on its own cost — so the patient can pay more than with no
//!    公費 at all, as the rules say (no "never more than without" correction); the excess is
//!    taken first from the parts no local programme covers;
//! 7. each local programme (地単), disregarded by 高額療養費, then works as in step 4 on what
//!    the limit left to the patient (it pays last);
//! 8. a visit's window charge is the month's patient total with the visit minus without it,
//!    rounded to 10 yen (5 up) — or, where a cap or a limit sets the amount, the month's total
//!    so far minus the earlier windows, to the yen; each 公費's 管理票 row likewise.
//!
//! Meals in hospital are a line of their own per inpatient receipt: the patient's 標準負担額 by
//! date and class (masters), what each 公費 covering the receipt does with it, outside the limits
//! and caps.
//!
//! Not modelled: the 生活療養 居住費, 世帯合算 across institutions, the annual caps, the
//! reimbursement side of programmes paid later.

mod engine;
mod input;
mod resolve;
#[cfg(test)]
mod tests;
mod trace;

pub use engine::{MonthCharges, Quote, ReceiptCharges, SubsidyAmounts, month, quote};
pub use input::{
    ChargeError, Consultation, Insurance, MealDay, Method, Month, PaidElsewhere, Part, Setting,
    SpecificDisease, Subsidy, SubsidyMeals, Terms, Visit,
};
pub use resolve::{Described, Named, resolve, to_receipt_order};
pub use trace::{TraceCode, TraceLine};
