//! The fuzz targets' bodies: what each target of `fuzz/` does with one input. They live here, not
//! in `fuzz/fuzz_targets/`, so that the same code runs under libFuzzer (`fuzz/run`) and over the
//! committed corpora in `cargo test` (`tests/it/fuzz_corpora.rs`), without a second build of the
//! gateway with cargo-fuzz's instrumentation in CI. Each returns normally for any input; a panic
//! (or a broken assertion) is the finding. Only with the `emulator` feature: the production
//! build leaves it out.

use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::domain::{Care, Claim, ServiceDate};
use crate::mapping::{self, VisitContext};
use crate::masters::MasterSnapshot;

/// A target's body: one input.
pub type Body = fn(&[u8]);

/// The targets by name (as in `fuzz/Cargo.toml` and `fuzz/corpus/<name>/`).
pub const TARGETS: [(&str, Body); 6] = [
    ("onshi_result", onshi_result),
    ("check_request", check_request),
    ("masters_csv", masters_csv),
    ("pmh_answer", pmh_answer),
    ("charge_quote", charge_quote),
    ("uke", uke),
];

/// The fixed service date the targets that need one use.
fn day() -> ServiceDate {
    ServiceDate::new(chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("a real date"))
}

/// The shipped masters, loaded once per process.
fn masters() -> &'static Arc<MasterSnapshot> {
    static MASTERS: OnceLock<Arc<MasterSnapshot>> = OnceLock::new();
    MASTERS.get_or_init(|| Arc::new(crate::masters::embedded()))
}

/// The オン資 result parser: any bytes give a value or an error.
pub fn onshi_result(data: &[u8]) {
    let _ = crate::onshi::OnshiResult::parse(data);
}

/// The UKE reader: any bytes give a file; every problem is on a line of it, names no personal
/// value it was given (no field's text is quoted), and every receipt read holds a month.
pub fn uke(data: &[u8]) {
    let f = crate::uke::read(data);
    for p in &f.problems {
        assert!(p.line >= 1 && p.line <= f.lines.max(1) + 1, "{p}");
        let _ = p.to_string();
    }
    for r in &f.receipts {
        assert!(r.line >= 1 && r.line <= f.lines, "{r:?}");
        let _ = format!("{r:?}");
    }
}

/// The JSON check request (the REST API's body): any bytes give a request or a problem with
/// field errors.
pub fn check_request(data: &[u8]) {
    let _ = crate::api::request::parse_check_request(data, day());
}

/// The master CSV loader: the first byte picks which of the master files (`FILES`, modulo their
/// number) the rest stands for; it is parsed and validated row by row, its references resolved
/// against the shipped tables (`MasterSnapshot::check_file`, the loader's per-file core). Any
/// text gives `Ok` or located row errors.
pub fn masters_csv(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if let Err(rows) = masters().check_file(usize::from(pick), &text) {
        for r in rows {
            let _ = r.to_string();
        }
    }
}

/// The PMH answer parser (the upstream's JSON, the boundary parse into certificates) and the
/// mapping of what it gives: any bytes give an answer or an upstream error.
pub fn pmh_answer(data: &[u8]) {
    if let Ok(answer) = crate::upstream::parse_answer(data) {
        let ctx = VisitContext {
            service_date: day(),
            claim: Claim::Medical,
            care: Care::Outpatient,
            institution: None,
            insurance: None,
            birthdate: None,
        };
        let _ = mapping::map(&answer.certificates, masters(), &ctx);
    }
}

/// The window-charge quote (the body of `POST /v1/charge-quotes` with the subsidies typed in,
/// through the same reading and engine as the API, without the ledger): any bytes give an answer
/// or a problem, and every answer's receipt adds up to its cost.
pub fn charge_quote(data: &[u8]) {
    // Without a gateway nothing awaits anything outside: one poll finishes it.
    let mut quote = std::pin::pin!(crate::api::quote_offline(masters().clone(), data));
    let Poll::Ready(answer) = quote.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("an offline quote waited on something");
    };
    if let Ok(a) = answer {
        let r = &a.receipt;
        let pays: u64 = r.subsidies.iter().map(|s| s.pays).sum();
        assert_eq!(
            r.insurance + r.high_cost + pays + r.patient,
            r.cost,
            "the receipt adds up"
        );
        // In tens of yen, unless a cap or a limit set it (then to the yen, settling the month).
        assert!(
            a.window_charge % 10 == 0 || a.to_the_yen,
            "the window charge is in tens of yen"
        );
    }
}
