//! Fuzz the PMH answer parser (the upstream's JSON, the boundary parse into certificates) and the
//! mapping of what it gives: any bytes give an answer or an upstream error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pmh_gateway::domain::{Care, Claim, ServiceDate};
use pmh_gateway::mapping::{self, VisitContext};
use pmh_gateway::masters::MasterSnapshot;

fuzz_target!(|data: &[u8]| {
    static MASTERS: std::sync::OnceLock<MasterSnapshot> = std::sync::OnceLock::new();
    let masters = MASTERS.get_or_init(MasterSnapshot::embedded);
    if let Ok(answer) = pmh_gateway::upstream::parse_answer(data) {
        let ctx = VisitContext {
            service_date: ServiceDate::new(chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()),
            claim: Claim::Medical,
            care: Care::Outpatient,
            institution: None,
            insurance: None,
            birthdate: None,
        };
        let _ = mapping::map(&answer.certificates, masters, &ctx);
    }
});
