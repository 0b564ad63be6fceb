use std::collections::BTreeMap;

use tract_onnx::prelude::Tensor;

use crate::receipt::ReceiptKey;
use crate::{
    Clock, EngineError, InferenceResult, InputSpec, Limits, Model, ModelInfo, OutputTensor, Receipt, RunRequest,
    Timings,
};

/// A loaded model plus the limits it runs under: the one object the worker and the CLI hold.
#[derive(Debug)]
pub struct Session {
    model: Model,
    limits: Limits,
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
        let start = clock.now_ms();
        let model = Model::load(bytes, expected_sha256, &limits)?;
        let load_ms = clock.now_ms() - start;
        Ok(Self { model, limits, load_ms, receipt_key: ReceiptKey::generate()? })
    }

    pub fn model(&self) -> &Model {
        &self.model
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
        let t0 = clock.now_ms();
        let (input_name, tensor) = self.input_tensor(&request.input, file)?;
        let index = self.model.input_index(input_name)?;
        let mut inputs = vec![None; self.model.inputs().len()];
        inputs[index] = Some(tensor);
        let inputs = inputs
            .into_iter()
            .enumerate()
            .map(|(ix, t)| {
                t.ok_or_else(|| {
                    EngineError::InvalidRequest(format!(
                        "the model also needs input {:?}; this engine version feeds models with a single input",
                        self.model.inputs()[ix].name
                    ))
                })
            })
            .collect::<Result<Vec<Tensor>, _>>()?;

        let t1 = clock.now_ms();
        let raw = self.model.run(inputs)?;
        let t2 = clock.now_ms();

        let mut outputs = BTreeMap::new();
        for (name, tensor) in &raw {
            outputs.insert(name.clone(), OutputTensor::from_tract(name, tensor)?);
        }
        let top_k = match &request.postprocess {
            Some(post) => {
                let name = post.output.clone().unwrap_or_else(|| raw[0].0.clone());
                let scored = outputs.get(&name).ok_or_else(|| {
                    EngineError::InvalidRequest(format!(
                        "postprocess.output {name:?} is not an output of the model; its outputs are: {}",
                        raw.iter().map(|(n, _)| format!("{n:?}")).collect::<Vec<_>>().join(", ")
                    ))
                })?;
                post.rank(&name, scored)?
            }
            None => None,
        };
        // The policy is the last step: nothing below this line sees a withheld value.
        let disclosed = request.disclosure.clone().unwrap_or_default().apply(outputs, top_k)?;
        let t3 = clock.now_ms();
        let timings_ms = Timings { preprocess: t1 - t0, inference: t2 - t1, postprocess: t3 - t2 };
        let digest = self.receipt_key.input_digest(&request.input, file);
        let receipt = Receipt::new(self.model.sha256(), &request.input, digest, &disclosed, &timings_ms)?;
        Ok(InferenceResult {
            status: "ok".into(),
            model_sha256: self.model.sha256().to_string(),
            outputs: disclosed.outputs,
            top_k: disclosed.top_k,
            timings_ms,
            receipt,
        })
    }

    fn input_tensor<'r>(
        &self,
        spec: &'r InputSpec,
        file: Option<&[u8]>,
    ) -> Result<(Option<&'r str>, Tensor), EngineError> {
        match spec {
            InputSpec::Tensor(t) => Ok((t.name.as_deref(), t.to_tract(&self.limits)?)),
            InputSpec::File { name, preprocess } => {
                let bytes = file.ok_or_else(|| EngineError::InvalidRequest("this request needs a file".into()))?;
                let info = &self.model.inputs()[self.model.input_index(name.as_deref())?];
                Ok((name.as_deref(), preprocess.apply(bytes, info, &self.limits)?))
            }
        }
    }
}
