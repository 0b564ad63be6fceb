use std::collections::BTreeMap;

use tract_onnx::prelude::{DatumType, Tensor};

use crate::budget::Precision;
use crate::disclosure::{Derived, Disclosure};
use crate::postprocess::Frame;
use crate::preprocess::{header_attributes, upright_size};
use crate::receipt::{ContentSha256, ReceiptKey};
use crate::tensor::{check_declared_dtype, typed_tensor};
use crate::{
    Clock, DetectionPostprocess, EngineError, InferenceResult, InputSpec, Limits, Model, ModelInfo, OutputTensor,
    Preprocess, Receipt, RunRequest, Timings,
};

/// A loaded model plus the limits it runs under: the one object the worker and the CLI hold.
#[derive(Debug)]
pub struct Session {
    model: Model,
    load_ms: f64,
    /// Keys the input hash of every receipt; one per session, never serialized.
    receipt_key: ReceiptKey,
}

impl Session {
    pub fn load(
        bytes: &[u8],
        expected_sha256: Option<&str>,
        limits: Limits,
        clock: &dyn Clock,
    ) -> Result<Self, EngineError> {
        Self::timed(limits, clock, || Model::load(bytes, expected_sha256, &limits))
    }

    /// As [`Session::load`], with the bytes' sha256 already computed by the caller
    /// ([`Model::load_hashed`]).
    pub fn load_hashed(
        bytes: &[u8],
        expected_sha256: Option<&str>,
        sha256: &str,
        limits: Limits,
        clock: &dyn Clock,
    ) -> Result<Self, EngineError> {
        Self::timed(limits, clock, || Model::load_hashed(bytes, expected_sha256, sha256, &limits))
    }

    fn timed(
        limits: Limits,
        clock: &dyn Clock,
        load: impl FnOnce() -> Result<Model, EngineError>,
    ) -> Result<Self, EngineError> {
        limits.validate()?;
        let start = clock.now_ms();
        let model = load()?;
        let load_ms = clock.now_ms() - start;
        Ok(Self { model, load_ms, receipt_key: ReceiptKey::generate()? })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn limits(&self) -> &Limits {
        self.model.limits()
    }

    /// The plan for the model's declared input shapes, built now rather than at the first run
    /// (see [`Model::prepare`]). An error here is the one that run would give.
    pub fn prepare(&self) -> Result<(), EngineError> {
        self.model.prepare()
    }

    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            sha256: self.model.sha256().to_string(),
            inputs: self.model.inputs().to_vec(),
            outputs: self.model.outputs().to_vec(),
            load_ms: self.load_ms,
        }
    }

    /// Runs one request. `file` holds the bytes of the picked file for a file request.
    pub fn run(
        &self,
        request: &RunRequest,
        file: Option<&[u8]>,
        clock: &dyn Clock,
    ) -> Result<InferenceResult, EngineError> {
        self.run_with_content_sha256(request, file, None, clock)
    }

    /// As [`Session::run`], with the SHA-256 of a single input's content (the file's bytes, or
    /// the tensor's values as f64 little-endian) already computed by the caller, for the
    /// receipt's input hash.
    pub fn run_with_content_sha256(
        &self,
        request: &RunRequest,
        file: Option<&[u8]>,
        content: Option<&ContentSha256>,
        clock: &dyn Clock,
    ) -> Result<InferenceResult, EngineError> {
        request.validate()?;
        if content.is_some() && matches!(request.input, InputSpec::Multiple { .. }) {
            return Err(EngineError::InvalidRequest(
                "a content sha256 stands for one input; a request of several inputs has none".into(),
            ));
        }
        let t0 = clock.now_ms();
        let inputs = self.input_tensors(&request.input, file)?;
        let inputs = self.model.cast_inputs(inputs)?;
        // The input's samples: one per picture, one per CSV row, a tensor's first dim. A
        // ranking may cover no more rows than this (disclosure.max_rows aside).
        let rows = inputs.iter().map(|t| t.shape().first().copied().unwrap_or(1)).max().unwrap_or(1);
        let t1 = clock.now_ms();
        let plan = self.model.plan_for(&inputs)?;
        let sizes = self.model.static_sizes(&plan);
        let t_plan = clock.now_ms();
        let raw = self.model.execute(&plan, inputs)?;
        let t2 = clock.now_ms();

        let mut outputs = BTreeMap::new();
        for (name, tensor) in &raw {
            outputs.insert(name.clone(), OutputTensor::from_tract(name, tensor)?);
        }
        let mut facts = Precision {
            decimals: None,
            ranking_probabilities: false,
            detection_probabilities: request
                .postprocess
                .as_ref()
                .and_then(|p| p.detection.as_ref())
                .is_some_and(|d| d.sigmoid),
            classes: 1,
            rows,
        };
        let (top_k, steps) = match &request.postprocess {
            Some(post) => {
                let name = post.output.clone().unwrap_or_else(|| raw[0].0.clone());
                let scored = outputs.get(&name).ok_or_else(|| {
                    EngineError::InvalidRequest(format!(
                        "postprocess.output {name:?} is not an output of the model; its outputs are: {}",
                        raw.iter().map(|(n, _)| format!("{n:?}")).collect::<Vec<_>>().join(", ")
                    ))
                })?;
                facts.classes = scored.shape.last().copied().unwrap_or(1);
                facts.ranking_probabilities = post.softmax;
                let steps = post.run_steps(&name, scored)?;
                (post.rank(&name, scored)?, (!steps.is_empty()).then(|| Derived { value: steps, sources: vec![name] }))
            }
            None => (None, None),
        };
        let detections = match request.postprocess.as_ref().and_then(|p| p.detection.as_ref()) {
            Some(detection) => Some(Derived {
                value: detection.detect(&outputs, self.detection_frame(&request.input, file, detection)?)?,
                sources: vec![detection.boxes.clone(), detection.scores.clone()],
            }),
            None => None,
        };
        // The policy is the last step: nothing below this line sees a withheld value.
        let policy = Disclosure::for_request(request);
        let mut disclosed = policy.apply(outputs, top_k, steps, detections, facts, &sizes)?;
        if let (Some(wanted), Some(bytes)) = (&policy.dicom_attributes, file) {
            disclosed.disclose_header(header_attributes(bytes, wanted)?, policy.max_bits)?;
        }
        let t3 = clock.now_ms();
        let timings_ms =
            Timings { preprocess: t1 - t0, plan: t_plan - t1, inference: t2 - t_plan, postprocess: t3 - t2 };
        let digest = self.receipt_key.input_digest(&request.input, file, content);
        let receipt = Receipt::new(self.model.sha256(), &request.input, digest, &disclosed, &timings_ms)?;
        Ok(InferenceResult {
            status: "ok".into(),
            model_sha256: self.model.sha256().to_string(),
            outputs: disclosed.outputs,
            top_k: disclosed.top_k,
            postprocessed: disclosed.postprocessed,
            detections: disclosed.detections,
            dicom_attributes: disclosed.dicom_attributes,
            timings_ms,
            receipt,
        })
    }

    /// The model's inputs in its own order, each fed exactly once by the request.
    fn input_tensors(&self, spec: &InputSpec, file: Option<&[u8]>) -> Result<Vec<Tensor>, EngineError> {
        let specs: Vec<&InputSpec> = match spec {
            InputSpec::Multiple { inputs } => inputs.iter().collect(),
            single => vec![single],
        };
        let model_inputs = self.model.inputs();
        let mut tensors: Vec<Option<Tensor>> = vec![None; model_inputs.len()];
        for spec in specs {
            let (index, tensor) = self.input_tensor(spec, file)?;
            if tensors[index].replace(tensor).is_some() {
                return Err(EngineError::InvalidRequest(format!(
                    "input {:?} is fed twice by the request",
                    model_inputs[index].name
                )));
            }
        }
        tensors
            .into_iter()
            .zip(model_inputs)
            .map(|(t, info)| {
                t.ok_or_else(|| {
                    EngineError::InvalidRequest(format!(
                        "the request does not feed input {:?}; the model's inputs are: {}",
                        info.name,
                        model_inputs.iter().map(|i| format!("{:?}", i.name)).collect::<Vec<_>>().join(", ")
                    ))
                })
            })
            .collect()
    }

    /// What detections are reported in: the picked image as the person sees it (EXIF
    /// orientation applied), mapped back through the preprocessing's resize (stretch, center
    /// crop or letterbox) so boxes land on it; for a tensor request, the model input's pixels.
    fn detection_frame(
        &self,
        input: &InputSpec,
        file: Option<&[u8]>,
        detection: &DetectionPostprocess,
    ) -> Result<Frame, EngineError> {
        if let (InputSpec::File { name, preprocess: Preprocess::Image(image) }, Some(bytes)) = (input, file) {
            if let Some(picture) = upright_size(bytes) {
                let index = self.model.input_index(name.as_deref())?;
                return Ok(image.frame(picture, image.target_size(&self.model.inputs()[index])?));
            }
        }
        let [w, h] = detection.anchors.input_size;
        Ok(Frame::stretched(f64::from(w), f64::from(h)))
    }

    fn input_tensor(&self, spec: &InputSpec, file: Option<&[u8]>) -> Result<(usize, Tensor), EngineError> {
        match spec {
            InputSpec::Tensor(t) => {
                let index = self.model.input_index(t.name.as_deref())?;
                let name = &self.model.inputs()[index].name;
                Ok((index, t.to_tract(name, self.model.input_dtype(index), self.model.limits())?))
            }
            InputSpec::File { name, preprocess } => {
                let bytes = file.ok_or_else(|| EngineError::InvalidRequest("this request needs a file".into()))?;
                let index = self.model.input_index(name.as_deref())?;
                let info = &self.model.inputs()[index];
                let target = self.model.input_dtype(index);
                check_declared_dtype(&info.name, preprocess.dtype(), target)?;
                let values = preprocess.apply(bytes, info, self.model.limits())?;
                if target == DatumType::F32 {
                    return Ok((index, values));
                }
                // Preprocessing computes in f32; a uint8 image model, say, gets the same
                // whole-number checks as a tensor the app sends.
                let data: Vec<f64> = values
                    .try_as_plain_ram()
                    .and_then(|v| v.as_slice::<f32>().map(|s| s.iter().map(|&x| f64::from(x)).collect()))
                    .map_err(|e| EngineError::Preprocess(crate::error::chain(&e)))?;
                Ok((index, typed_tensor(&info.name, values.shape(), &data, target)?))
            }
            // `RunRequest::validate` refuses nested inputs; an error all the same, never a panic.
            InputSpec::Multiple { .. } => {
                Err(EngineError::InvalidRequest("an entry of input.inputs cannot itself be of kind multiple".into()))
            }
        }
    }
}
