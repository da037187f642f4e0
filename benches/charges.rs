//! Time per window-charge quote as the month grows: the request's earlier visits are each
//! computed as of their own day (to know what their windows collected), so a quote costs more
//! with more of them. Offline (`quote_offline`: the masters and the engine, no store, no HTTP),
//! a typed 難病 certificate and 大阪市 こども on every visit, 1, 10 and 31 visits side by side in
//! one run. Run: `cargo bench --bench charges` (optionally `-- N` quotes per row, default 300).

// A benchmark: it unwraps and prints its results.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use serde_json::json;

fn body(visits: usize) -> Vec<u8> {
    let visit = |i: usize| {
        json!({"visit_id": format!("V{i}"), "date": format!("2026-05-{:02}", i % 31 + 1),
               "parts": [{"points": 800 + i * 10, "subsidies": [1, 2]}, {"points": 120}]})
    };
    let earlier: Vec<_> = (0..visits - 1).map(visit).collect();
    serde_json::to_vec(&json!({
        "subsidies": [
            {"payer_number": "54136015", "income_class": "一般所得Ⅰ", "no_ledger": true},
            {"payer_number": "88271010", "recipient_number": "7654321"}
        ],
        "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
        "visit": visit(visits - 1),
        "earlier_visits": earlier
    }))
    .unwrap()
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let masters = std::sync::Arc::new(pmh_gateway::masters::embedded());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    println!("| visits in the month | quotes | µs per quote | × one visit |");
    println!("|---|---|---|---|");
    let mut base = 0.0;
    for visits in [1, 10, 31] {
        let b = body(visits);
        // One to check it is answered, then the timed ones.
        rt.block_on(pmh_gateway::api::quote_offline(masters.clone(), &b))
            .unwrap();
        let t = Instant::now();
        for _ in 0..n {
            rt.block_on(pmh_gateway::api::quote_offline(masters.clone(), &b))
                .unwrap();
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        if visits == 1 {
            base = us;
        }
        println!("| {visits} | {n} | {us:.0} | {:.1} |", us / base);
    }
}
