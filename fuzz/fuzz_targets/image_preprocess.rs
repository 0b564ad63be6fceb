//! A picked image: decoding (PNG, JPEG), size checks, resizing and normalization, fed to a
//! real model. The first byte picks one of several preprocess configurations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, image)) = data.split_first() else { return };
    let (color, channels) = [("grayscale", 1), ("rgb", 3), ("bgr", 3)][usize::from(choice % 3)];
    let layout = ["flat", "nchw", "nhwc"][usize::from(choice / 3 % 3)];
    // Mostly the model's size; sometimes none, which only NCHW/NHWC models can do without.
    let size = if choice & 0xc0 == 0xc0 { json!(null) } else { json!([8, 8]) };
    let preprocess = json!({"kind": "image", "size": size, "color": color, "layout": layout,
                            "scale": 1.0 / 255.0, "mean": vec![0.5; channels], "std": vec![0.25; channels]});
    let request = json!({"input": {"kind": "file", "preprocess": preprocess},
                         "postprocess": {"softmax": true, "top_k": 3}});
    ssc_fuzz::run(ssc_fuzz::digits(), request, image);
});
