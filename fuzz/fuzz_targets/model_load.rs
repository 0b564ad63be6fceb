//! Model bytes from anywhere: sniffing, sha256, protobuf decoding and graph preparation.
//! TFLite bytes take the same path: the engine sniffs the format before it loads anything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssc_engine::{InstantClock, Session};

fuzz_target!(|data: &[u8]| {
    let _ = Session::load(data, None, ssc_fuzz::LIMITS, &InstantClock::new());
});
