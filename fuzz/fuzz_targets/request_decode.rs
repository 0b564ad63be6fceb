//! The engine's request as the browser hands it over: JSON decoding into the DTOs, then a
//! run of whatever decodes (tensor or file input, post-processing, disclosure policy, receipt)
//! against a real model, with a small valid PNG as the picked file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssc_engine::{InstantClock, RunRequest};

const DIGIT: &[u8] = include_bytes!("../../examples/data/digit_3.png");

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<RunRequest>(data) else { return };
    let _ = ssc_fuzz::digits().run(&request, Some(DIGIT), &InstantClock::new());
});
