//! The wasm-bindgen boundary of the engine: JS values in, `ssc_engine` calls, JS values out.
//!
//! No inference logic lives here. The message loop that drives this API is the worker glue
//! in `component/src/worker.ts`, next to the protocol definition it shares with the host and
//! the sandbox, so that the protocol is written down exactly once.

use serde::Serialize;
use ssc_engine::{Clock, ContentSha256, DicomPreprocess, EngineError, InputSpec, Limits, RunRequest, Session};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

// Synthesized by wasm-ld: runs the static constructors, which tract-linalg's kernel registries
// (the `inventory` crate) and dicom-rs's codec registry rely on.
#[cfg(target_arch = "wasm32")]
extern "C" {
    fn __wasm_call_ctors();
}

#[wasm_bindgen(start)]
pub fn start() {
    // Once, here. Without an explicit call, wasm-ld wraps every export (each `Engine` method and
    // each of wasm-bindgen's allocation helpers, called many times per conversion) in a call to
    // all the constructors: measured in Chromium, 11% of a small model's `run()` in
    // `__wasm_call_ctors` alone, more in the registrations it repeats.
    #[cfg(target_arch = "wasm32")]
    // SAFETY: called once, at instantiation, before any other export runs.
    unsafe {
        __wasm_call_ctors()
    };
    // With panic=abort a panic otherwise surfaces only as "unreachable executed".
    console_error_panic_hook::set_once();
}

/// `performance.now()` of whatever global scope this runs in (a Worker, in production).
struct PerformanceClock(web_sys::Performance);

impl PerformanceClock {
    fn new() -> Result<Self, JsValue> {
        let performance = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))?;
        Ok(Self(performance.unchecked_into()))
    }
}

impl Clock for PerformanceClock {
    fn now_ms(&self) -> f64 {
        self.0.now()
    }
}

#[derive(Serialize)]
struct ErrorDto {
    code: &'static str,
    message: String,
    /// The full message, for the person in the sandbox only, when `message` had to leave
    /// something of their file out.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// An engine error as the `{code, message}` object the protocol carries.
fn to_js_error(error: EngineError) -> JsValue {
    to_js(&ErrorDto { code: error.code(), message: error.to_string(), detail: None }).unwrap_or_else(|e| e)
}

/// An error of a run on the person's file: the message says nothing of the file, and the
/// full one travels beside it for the sandbox to show (it never sends `detail` on).
fn to_js_file_error(error: EngineError) -> JsValue {
    let dto = match error.file_safe_message() {
        Some(message) => ErrorDto { code: error.code(), message, detail: Some(error.to_string()) },
        None => ErrorDto { code: error.code(), message: error.to_string(), detail: None },
    };
    to_js(&dto).unwrap_or_else(|e| e)
}

/// Plain JSON-compatible objects (no `Map`), which survive `postMessage` and validation.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| JsValue::from_str(&e.to_string()))
}

fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| to_js_error(EngineError::InvalidRequest(format!("{what}: {e}"))))
}

/// One loaded model.
#[wasm_bindgen]
pub struct Engine {
    session: Session,
    clock: PerformanceClock,
}

#[wasm_bindgen]
impl Engine {
    /// Verifies `model` against `expected_sha256` and prepares it. `limits` is an object of
    /// `ssc_engine::Limits` fields, or `undefined` for the defaults. `sha256` is the model's
    /// digest when the caller computed it (the browser's native SHA-256 is several times
    /// faster than this build's); `undefined` computes it here.
    #[wasm_bindgen(constructor)]
    pub fn new(
        model: &[u8],
        expected_sha256: Option<String>,
        limits: JsValue,
        sha256: Option<String>,
    ) -> Result<Engine, JsValue> {
        let limits: Limits =
            if limits.is_undefined() || limits.is_null() { Limits::default() } else { from_js(limits, "limits")? };
        let clock = PerformanceClock::new()?;
        let expected = expected_sha256.as_deref();
        let session = match sha256 {
            Some(sha256) => Session::load_hashed(model, expected, &sha256, limits, &clock),
            None => Session::load(model, expected, limits, &clock),
        }
        .map_err(to_js_error)?;
        Ok(Engine { session, clock })
    }

    /// Refuses an input of `size` bytes over this session's `max_input_bytes`, so the Worker
    /// can check a picked file before reading it (the engine's own check needs the bytes).
    #[wasm_bindgen(js_name = checkInputSize)]
    pub fn check_input_size(&self, size: f64) -> Result<(), JsValue> {
        self.session.limits().check_input_bytes(size as usize).map_err(to_js_file_error)
    }

    /// A picked DICOM file's frame as the person should see it: windowed as the request's
    /// `preprocess` says, at most `max_side` pixels a side. `{width, height}` are the frame's,
    /// `{previewWidth, previewHeight, rgba}` the picture's.
    #[wasm_bindgen(js_name = dicomPreview)]
    pub fn dicom_preview(&self, preprocess: JsValue, file: &[u8], max_side: u32) -> Result<JsValue, JsValue> {
        let preprocess: DicomPreprocess = from_js(preprocess, "preprocess")?;
        let preview = preprocess.preview(file, self.session.limits(), max_side).map_err(to_js_file_error)?;
        let out = js_sys::Object::new();
        for (key, value) in [
            ("width", JsValue::from(preview.width)),
            ("height", JsValue::from(preview.height)),
            ("previewWidth", JsValue::from(preview.preview_width)),
            ("previewHeight", JsValue::from(preview.preview_height)),
            ("rgba", js_sys::Uint8Array::from(&preview.rgba[..]).into()),
        ] {
            js_sys::Reflect::set(&out, &JsValue::from_str(key), &value)?;
        }
        Ok(out.into())
    }

    /// Builds the plan for the model's declared input shapes ahead of the first run; the
    /// Worker calls it right after the model loaded, while the person picks a file.
    pub fn prepare(&self) -> Result<(), JsValue> {
        self.session.prepare().map_err(to_js_error)
    }

    /// The model's sha256, inputs and outputs.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.session.info())
    }

    /// Runs a `RunRequest`; `file` holds the picked file's bytes for file requests.
    ///
    /// A tensor request's values may come apart, as `tensor_data` (a `Float64Array`: one copy
    /// into wasm memory), with `data: []` in the request: inside the request every number
    /// would cross the JS boundary on its own, which costs more than the inference on a CNN.
    /// The result crosses as one JSON text for the same reason.
    ///
    /// `content_sha256` is the SHA-256 of the file, or of the tensor's values as f64
    /// little-endian, when the caller computed it (the browser's is several times faster than
    /// this build's): the receipt's input hash is keyed over it.
    pub fn run(
        &self,
        request: JsValue,
        file: Option<Box<[u8]>>,
        tensor_data: Option<Box<[f64]>>,
        content_sha256: Option<Box<[u8]>>,
    ) -> Result<JsValue, JsValue> {
        let content: Option<ContentSha256> = match content_sha256 {
            Some(bytes) => Some(bytes.as_ref().try_into().map_err(|_| {
                to_js_error(EngineError::InvalidRequest(format!(
                    "content_sha256 has {} bytes; a SHA-256 has 32",
                    bytes.len()
                )))
            })?),
            None => None,
        };
        let mut request: RunRequest = from_js(request, "request")?;
        if let Some(data) = tensor_data {
            match &mut request.input {
                InputSpec::Tensor(tensor) if tensor.data.is_empty() => tensor.data = data.into_vec(),
                _ => {
                    return Err(to_js_error(EngineError::InvalidRequest(
                        "tensor data was passed apart, but the request is not a tensor request with empty data".into(),
                    )))
                }
            }
        }
        let on_error = if file.is_some() { to_js_file_error } else { to_js_error };
        let result = self
            .session
            .run_with_content_sha256(&request, file.as_deref(), content.as_ref(), &self.clock)
            .map_err(on_error)?;
        let text = serde_json::to_string(&result).map_err(|e| JsValue::from_str(&e.to_string()))?;
        js_sys::JSON::parse(&text)
    }
}
