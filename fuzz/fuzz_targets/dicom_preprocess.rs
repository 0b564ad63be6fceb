//! A picked DICOM file: parsing (preamble, meta group, every transfer syntax's decoder), the
//! header's size checks, the modality LUT and window, fitting and normalization, fed to a real
//! model. The first byte picks one of several preprocess configurations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, file)) = data.split_first() else { return };
    let window = [json!("file"), json!("none"), json!([40, 400])][usize::from(choice % 3)].clone();
    let color = ["grayscale", "rgb"][usize::from(choice / 3 % 2)];
    let resize = ["stretch", "center_crop", "letterbox"][usize::from(choice / 6 % 3)];
    let layout = if color == "grayscale" { "flat" } else { "nchw" };
    let size = if color == "grayscale" { json!([8, 8]) } else { json!([4, 4]) };
    let preprocess = json!({"kind": "dicom", "window": window, "frame": choice >> 7, "color": color,
                            "resize": resize, "layout": layout, "size": size});
    let request = json!({"input": {"kind": "file", "preprocess": preprocess},
                         "postprocess": {"softmax": true, "top_k": 3}});
    ssc_fuzz::run(ssc_fuzz::digits(), request, file);
});
