//! Fuzz the JSON check request (the REST API's body): any bytes give a request or a problem with
//! field errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pmh_gateway::domain::ServiceDate;

fuzz_target!(|data: &[u8]| {
    let today = ServiceDate::new(chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
    let _ = pmh_gateway::api::request::parse_check_request(data, today);
});
