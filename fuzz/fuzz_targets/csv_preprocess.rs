//! A picked CSV: parsing, header handling and number conversion, fed to a real model. The
//! first byte picks the header flag and the delimiter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, csv)) = data.split_first() else { return };
    let delimiter = [",", ";", "\t", "|"][usize::from(choice % 4)];
    let preprocess = json!({"kind": "csv", "header": choice & 0x10 != 0, "delimiter": delimiter});
    ssc_fuzz::run(ssc_fuzz::cancer(), json!({"input": {"kind": "file", "preprocess": preprocess}}), csv);
});
