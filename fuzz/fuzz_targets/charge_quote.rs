//! Fuzz the window-charge quote (the body of `POST /v1/charge-quotes` with the subsidies typed
//! in, through the same reading and engine as the API, without the ledger): any bytes give an
//! answer or a problem, never a panic; and every answer's receipt adds up to its cost.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use pmh_gateway::masters::MasterSnapshot;

fuzz_target!(|data: &[u8]| {
    static MASTERS: OnceLock<Arc<MasterSnapshot>> = OnceLock::new();
    let masters = MASTERS
        .get_or_init(|| Arc::new(MasterSnapshot::embedded()))
        .clone();
    // Without a gateway nothing awaits anything outside: one poll finishes it.
    let mut quote = std::pin::pin!(pmh_gateway::api::quote_offline(masters, data));
    let Poll::Ready(answer) = quote.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("an offline quote waited on something");
    };
    if let Ok(a) = answer {
        let r = &a.receipt;
        let pays: u64 = r.subsidies.iter().map(|s| s.pays).sum();
        assert_eq!(r.insurance + r.high_cost + pays + r.patient, r.cost, "the receipt adds up");
        assert_eq!(a.window_charge % 10, 0, "the window charge is in tens of yen");
    }
});
