//! The rules a request must meet before any model or file is involved: value ranges the
//! types cannot express and the rules that relate one field to another. `Session::run`
//! applies them first; `ssc check` applies them alone, which is how the Python package's
//! checks are held to these (python/tests/test_request_parity.py).
//!
//! The value ranges are also written on the types, as schema attributes (`schema.rs`), so
//! that Python and the component can check them without the engine.

use crate::capabilities::input_dtypes;
use crate::postprocess::{DetectionPostprocess, SsdAnchors, Step};
use crate::preprocess::{Color, CsvPreprocess, DicomPreprocess, ImagePreprocess, Window};
use crate::{
    DerivedField, Disclosure, EngineError, InputSpec, Limits, Postprocess, Preprocess, RunRequest, MAX_DECIMALS,
};

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidRequest(message.into())
}

impl RunRequest {
    pub fn validate(&self) -> Result<(), EngineError> {
        self.input.validate()?;
        if let Some(post) = &self.postprocess {
            post.validate()?;
        }
        if let Some(policy) = &self.disclosure {
            policy.validate(self)?;
        }
        self.validate_something_leaves()
    }

    /// Under the policy the request runs under ([`Disclosure::for_request`]: its own on top of
    /// the default, which keeps a picked file's raw outputs), a request that computes nothing
    /// that may leave would send nothing.
    fn validate_something_leaves(&self) -> Result<(), EngineError> {
        let policy = Disclosure::for_request(self);
        let ranked = self.postprocess.as_ref().is_some_and(|p| p.top_k.is_some());
        let nothing = !ranked
            && policy.outputs.as_ref().is_some_and(Vec::is_empty)
            && policy.derived.as_ref().is_none_or(Vec::is_empty);
        if !nothing {
            return Ok(());
        }
        if self.disclosure.as_ref().is_none_or(|p| p.outputs.is_none()) {
            return Err(invalid(
                "a picked file's raw outputs leave the browser only when the app names them in \
                 disclosure.outputs; this request names none and asks for no ranking, steps or detections",
            ));
        }
        Err(invalid(
            "disclosure.outputs is empty, no postprocess.top_k is requested and derived lists nothing: nothing \
             could leave",
        ))
    }
}

impl InputSpec {
    fn validate(&self) -> Result<(), EngineError> {
        match self {
            Self::Tensor(tensor) => validate_dtype("input.dtype", tensor.dtype.as_deref()),
            Self::File { preprocess, .. } => preprocess.validate(),
            Self::Multiple { inputs } => {
                if inputs.iter().filter(|i| i.reads_a_file()).count() > 1 {
                    return Err(invalid("at most one input can come from a file"));
                }
                if inputs.iter().any(|i| matches!(i, Self::Multiple { .. })) {
                    return Err(invalid("an entry of input.inputs cannot itself be of kind multiple"));
                }
                inputs.iter().try_for_each(Self::validate)
            }
        }
    }
}

/// Cross-field: how many values `mean` and `std` need depends on `color`.
fn normalization_fits(what: &str, mean: &[f32], std: &[f32], color: Color, channels: usize) -> Result<(), EngineError> {
    for (field, values) in [("mean", mean), ("std", std)] {
        if !values.is_empty() && values.len() != channels {
            return Err(invalid(format!(
                "{what}.{field} has {} values, but color {color:?} has {channels} channel(s): give one value per \
                 channel, or none",
                values.len(),
            )));
        }
    }
    if std.contains(&0.0) {
        return Err(invalid(format!("{what}.std must not contain 0: each channel is divided by its value")));
    }
    Ok(())
}

/// A declared dtype is one values can be converted to (checked against the model's later).
fn validate_dtype(what: &str, dtype: Option<&str>) -> Result<(), EngineError> {
    let known = input_dtypes();
    match dtype {
        Some(dtype) if !known.iter().any(|k| k == dtype) => {
            Err(invalid(format!("{what} is {dtype:?}, which is not one of {}", known.join(", "))))
        }
        _ => Ok(()),
    }
}

impl Preprocess {
    pub(crate) fn validate(&self) -> Result<(), EngineError> {
        match self {
            Self::Image(config) => config.validate(),
            Self::Csv(config) => config.validate(),
            Self::Dicom(config) => config.validate(),
        }
    }
}

impl ImagePreprocess {
    pub(crate) fn validate(&self) -> Result<(), EngineError> {
        if self.size.is_some_and(|size| size.contains(&0)) {
            return Err(invalid("preprocess.size must be positive"));
        }
        normalization_fits("preprocess", &self.mean, &self.std, self.color, self.channels())?;
        validate_dtype("preprocess.dtype", self.dtype.as_deref())
    }
}

impl DicomPreprocess {
    pub(crate) fn validate(&self) -> Result<(), EngineError> {
        if self.size.is_some_and(|size| size.contains(&0)) {
            return Err(invalid("preprocess.size must be positive"));
        }
        normalization_fits("preprocess", &self.mean, &self.std, self.color, self.channels())?;
        if let Window::Custom([_, width]) = self.window {
            if !(width >= 1.0) {
                return Err(invalid(format!("preprocess.window's width is {width}; it must be at least 1")));
            }
        }
        validate_dtype("preprocess.dtype", self.dtype.as_deref())
    }
}

impl CsvPreprocess {
    pub(crate) fn validate(&self) -> Result<(), EngineError> {
        if !self.delimiter.is_ascii() {
            return Err(invalid("preprocess.delimiter must be one ASCII character"));
        }
        // Cross-field: columns are picked by their header names.
        if self.columns.is_some() && !self.header {
            return Err(invalid("preprocess.columns picks columns by their header names, so it needs header: true"));
        }
        Ok(())
    }
}

impl Postprocess {
    pub(crate) fn validate(&self) -> Result<(), EngineError> {
        if self.top_k == Some(0) {
            return Err(invalid("postprocess.top_k must be at least 1"));
        }
        if self.steps.iter().any(|step| matches!(step, Step::TopK { k: 0 })) {
            return Err(invalid("postprocess.steps: a top_k step's k must be at least 1"));
        }
        self.detection.as_ref().map_or(Ok(()), DetectionPostprocess::validate)
    }
}

impl DetectionPostprocess {
    pub(crate) fn validate(&self) -> Result<(), EngineError> {
        if !(0.0..=1.0).contains(&self.nms.iou_threshold) {
            return Err(invalid("postprocess.detection.nms.iou_threshold must be in [0, 1]"));
        }
        // `f64::clamp` panics when its bounds are inverted or NaN, so a bad clip must stop here.
        if self.score_clip.is_some_and(|clip| !(clip >= 0.0)) {
            return Err(invalid("postprocess.detection.score_clip must be a number >= 0"));
        }
        if self.box_scale.contains(&0.0) {
            return Err(invalid("postprocess.detection.box_scale must not contain 0"));
        }
        // Cross-field: keypoints are read after an anchor's 4 box values.
        if self.keypoints > 0 && self.keypoint_offset < 4 {
            return Err(invalid(
                "postprocess.detection.keypoint_offset must be at least 4: an anchor's first 4 values are its box",
            ));
        }
        self.anchors.validate()
    }
}

impl SsdAnchors {
    pub(crate) fn validate(&self) -> Result<(), EngineError> {
        let invalid = |m: &str| Err(invalid(format!("postprocess.detection.anchors: {m}")));
        // Cross-field: one stride per layer.
        if self.num_layers == 0 || self.strides.len() != self.num_layers {
            return invalid("strides must hold one positive stride for each of num_layers (at least 1) layers");
        }
        if self.strides.contains(&0) || self.input_size.contains(&0) {
            return invalid("strides and input_size must be positive");
        }
        if self.aspect_ratios.iter().any(|&r| r <= 0.0) {
            return invalid("aspect_ratios must be positive");
        }
        Ok(())
    }
}

impl Disclosure {
    /// The policy's own rules, and those that relate it to the request it governs.
    pub(crate) fn validate(&self, request: &RunRequest) -> Result<(), EngineError> {
        if let Some(decimals) = self.decimals.filter(|d| *d > MAX_DECIMALS) {
            return Err(invalid(format!("disclosure.decimals is {decimals}, over the maximum of {MAX_DECIMALS}")));
        }
        let outputs = self.outputs.as_deref().unwrap_or_default();
        if outputs.iter().any(String::is_empty) {
            return Err(invalid("disclosure.outputs lists an empty name"));
        }
        if let Some((i, name)) = outputs.iter().enumerate().find(|(i, name)| outputs[..*i].contains(name)) {
            return Err(invalid(format!("disclosure.outputs lists {name:?} twice (at {i})")));
        }
        // Header attributes come from a picked DICOM file; any other input has none to give.
        let reads_dicom = |spec: &InputSpec| matches!(spec, InputSpec::File { preprocess: Preprocess::Dicom(_), .. });
        let dicom_input = match &request.input {
            InputSpec::Multiple { inputs } => inputs.iter().any(reads_dicom),
            single => reads_dicom(single),
        };
        if self.dicom_attributes.as_ref().is_some_and(|a| !a.is_empty()) && !dicom_input {
            return Err(invalid("disclosure.dicom_attributes needs a picked DICOM file (preprocess kind \"dicom\")"));
        }
        let post = request.postprocess.as_ref();
        let ranked = post.is_some_and(|p| p.top_k.is_some());
        if self.top_k_only {
            if self.outputs.is_some() || self.derived.is_some() {
                return Err(invalid(
                    "disclosure.top_k_only withholds every raw output and derived result, so outputs and derived \
                     cannot list any",
                ));
            }
            if !ranked {
                return Err(invalid("disclosure.top_k_only needs postprocess.top_k: nothing else may leave"));
            }
        }
        for field in self.derived.iter().flatten() {
            let (computed, by) = match field {
                DerivedField::Postprocessed => (post.is_some_and(|p| !p.steps.is_empty()), "steps"),
                DerivedField::Detections => (post.is_some_and(|p| p.detection.is_some()), "detection"),
            };
            if !computed {
                return Err(invalid(format!(
                    "disclosure.derived lists {:?}, but postprocess has no {by:?} to compute it",
                    field.name()
                )));
            }
        }
        Ok(())
    }
}

impl Limits {
    pub fn validate(&self) -> Result<(), EngineError> {
        let all = [
            ("max_model_bytes", self.max_model_bytes as u64),
            ("max_input_bytes", self.max_input_bytes as u64),
            ("max_image_pixels", self.max_image_pixels),
            ("max_tensor_elements", self.max_tensor_elements as u64),
        ];
        match all.iter().find(|(_, value)| *value == 0) {
            Some((name, _)) => Err(invalid(format!("limits.{name} must be at least 1"))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A picked CSV ranked top-1, with `policy` (JSON) as its disclosure and `post` as its
    /// postprocess.
    fn request(post: serde_json::Value, policy: serde_json::Value) -> RunRequest {
        serde_json::from_value(json!({
            "input": {"kind": "file", "preprocess": {"kind": "csv"}},
            "postprocess": post,
            "disclosure": policy,
        }))
        .unwrap()
    }

    fn refusal(request: &RunRequest) -> String {
        let err = request.validate().unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        err.to_string()
    }

    #[test]
    fn a_policy_is_checked_against_the_request_it_governs() {
        let ranked = json!({"top_k": 1});
        assert!(request(ranked.clone(), json!({"top_k_only": true, "decimals": 2})).validate().is_ok());
        let cases = [
            (ranked.clone(), json!({"decimals": 16}), "over the maximum of 15"),
            (ranked.clone(), json!({"top_k_only": true, "outputs": ["p"]}), "cannot list any"),
            (ranked.clone(), json!({"top_k_only": true, "derived": ["detections"]}), "cannot list any"),
            (json!({}), json!({"top_k_only": true}), "needs postprocess.top_k"),
            (ranked.clone(), json!({"outputs": ["p", "q", "p"]}), "lists \"p\" twice"),
            (ranked.clone(), json!({"outputs": [""]}), "empty name"),
            (ranked, json!({"derived": ["postprocessed"]}), "no \"steps\" to compute it"),
            (json!({}), json!({"outputs": []}), "nothing could leave"),
        ];
        for (post, policy, says) in cases {
            let message = refusal(&request(post, policy.clone()));
            assert!(message.contains(says), "{policy}: {message}");
        }
    }

    #[test]
    fn without_a_policy_a_file_request_must_compute_something() {
        let none: RunRequest =
            serde_json::from_value(json!({"input": {"kind": "file", "preprocess": {"kind": "csv"}}})).unwrap();
        assert!(refusal(&none).contains("names none"));
        let tensor: RunRequest =
            serde_json::from_value(json!({"input": {"kind": "tensor", "shape": [1], "data": [1.0]}})).unwrap();
        assert!(tensor.validate().is_ok());
    }

    #[test]
    fn cross_field_rules_of_preprocess_and_detection() {
        let image = |pre: serde_json::Value| -> RunRequest {
            serde_json::from_value(json!({
                "input": {"kind": "file", "preprocess": pre}, "postprocess": {"top_k": 1},
            }))
            .unwrap()
        };
        assert!(refusal(&image(json!({"kind": "image", "color": "grayscale", "mean": [0.5, 0.5, 0.5]})))
            .contains("1 channel(s)"));
        assert!(refusal(&image(json!({"kind": "csv", "header": false, "columns": ["a"]}))).contains("needs header"));
        assert!(image(json!({"kind": "image", "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]})).validate().is_ok());
    }

    #[test]
    fn zero_limits_are_refused() {
        assert!(Limits::default().validate().is_ok());
        let zero = Limits { max_input_bytes: 0, ..Limits::default() };
        assert!(zero.validate().unwrap_err().to_string().contains("limits.max_input_bytes"));
    }
}
