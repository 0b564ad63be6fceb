use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use crate::error::chain;
use crate::tensor::dtype_name;
use crate::{sniff, EngineError, Limits};

/// A model input or output as declared by the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    /// Each dim is a number, or the symbol the model declares (for example `"N"`).
    pub shape: Vec<String>,
    pub dtype: String,
}

type Plan = Arc<TypedRunnableModel>;

/// A loaded, verified model, ready to run on any input shape it accepts.
///
/// Optimizing a graph whose batch dim is still symbolic leaves generic kernels in place;
/// the project's design brief measured such plans 3.5–4x slower in the browser. So the
/// decluttered graph is kept, and a fully concrete, optimized plan is built and cached
/// per distinct set of input shapes.
pub struct Model {
    sha256: String,
    graph: TypedModel,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    plans: Mutex<HashMap<Vec<Vec<usize>>, Plan>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("sha256", &self.sha256).field("inputs", &self.inputs).finish()
    }
}

/// Lowercase hex sha256, the form the Python side records and compares.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Model {
    /// Loads an ONNX model from bytes. When `expected_sha256` is given, the bytes must hash
    /// to it, so a model that was swapped or corrupted on its way is never run.
    pub fn load(bytes: &[u8], expected_sha256: Option<&str>, limits: &Limits) -> Result<Self, EngineError> {
        limits.check_model_bytes(bytes.len())?;
        let sha256 = sha256_hex(bytes);
        if let Some(expected) = expected_sha256 {
            if !expected.eq_ignore_ascii_case(&sha256) {
                return Err(EngineError::Sha256Mismatch { expected: expected.to_string(), actual: sha256 });
            }
        }
        sniff(bytes).require_onnx()?;
        let onnx = tract_onnx::onnx();
        let proto = onnx.proto_model_for_read(&mut &bytes[..]).map_err(|e| EngineError::ModelInvalid(chain(&e)))?;
        check_graph_outputs(&proto)?;
        let inference = onnx.model_for_proto_model(&proto).map_err(|e| EngineError::ModelInvalid(chain(&e)))?;
        let graph = inference
            .into_typed()
            .and_then(|m| m.into_decluttered())
            .map_err(|e| EngineError::ModelUnsupported(chain(&e)))?;
        let inputs = describe(&graph, graph.input_outlets())?;
        let outputs = describe(&graph, graph.output_outlets())?;
        Ok(Self { sha256, graph, inputs, outputs, plans: Mutex::new(HashMap::new()) })
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Position of the named input, or of the only input when no name is given.
    pub(crate) fn input_index(&self, name: Option<&str>) -> Result<usize, EngineError> {
        let available = || self.inputs.iter().map(|i| format!("{:?}", i.name)).collect::<Vec<_>>().join(", ");
        match name {
            Some(name) => self
                .inputs
                .iter()
                .position(|i| i.name == name)
                .ok_or_else(|| EngineError::UnknownInput { name: name.to_string(), available: available() }),
            None if self.inputs.len() == 1 => Ok(0),
            None => Err(EngineError::InvalidRequest(format!(
                "the model has {} inputs ({}); name the one to feed with inputName",
                self.inputs.len(),
                available()
            ))),
        }
    }

    /// Runs the model. `inputs` is in the model's input order.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<(String, Tensor)>, EngineError> {
        if inputs.len() != self.inputs.len() {
            return Err(EngineError::InvalidRequest(format!(
                "the model takes {} inputs, {} were given",
                self.inputs.len(),
                inputs.len()
            )));
        }
        let mut cast = TVec::new();
        for (ix, tensor) in inputs.into_iter().enumerate() {
            let fact = self.graph.input_fact(ix).map_err(|e| EngineError::Inference(chain(&e)))?;
            let tensor = tensor.cast_to_dt(fact.datum_type).map(|t| t.into_owned()).map_err(|_| {
                EngineError::UnsupportedDtype {
                    what: format!("input {:?}", self.inputs[ix].name),
                    dtype: dtype_name(fact.datum_type),
                }
            })?;
            cast.push(tensor.into_tvalue());
        }
        let plan = self.plan_for(&cast)?;
        let results = plan.run(cast).map_err(|e| EngineError::Inference(chain(&e)))?;
        Ok(self.outputs.iter().map(|o| o.name.clone()).zip(results.into_iter().map(|v| v.into_tensor())).collect())
    }

    fn plan_for(&self, inputs: &[TValue]) -> Result<Plan, EngineError> {
        let key: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
        let mut plans = self.plans.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(plan) = plans.get(&key) {
            return Ok(plan.clone());
        }
        let symbols = self.bind_symbols(&key)?;
        let plan = self
            .graph
            .set_symbols(&symbols)
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| EngineError::ModelUnsupported(chain(&e)))?;
        plans.insert(key, plan.clone());
        Ok(plan)
    }

    /// Resolves the model's symbolic dims from the actual input shapes, and checks every
    /// concrete dim, so a mismatch is reported against the input's declared shape.
    fn bind_symbols(&self, shapes: &[Vec<usize>]) -> Result<HashMap<Symbol, TDim>, EngineError> {
        let mut symbols = HashMap::new();
        for (ix, actual) in shapes.iter().enumerate() {
            let info = &self.inputs[ix];
            let mismatch = || EngineError::ShapeMismatch {
                input: info.name.clone(),
                expected: format!("[{}]", info.shape.join(", ")),
                actual: format!("{actual:?}"),
            };
            let fact = self.graph.input_fact(ix).map_err(|e| EngineError::Inference(chain(&e)))?;
            if fact.rank() != actual.len() {
                return Err(mismatch());
            }
            for (dim, &value) in fact.shape.iter().zip(actual) {
                match dim {
                    TDim::Sym(sym) => match symbols.insert(sym.clone(), TDim::Val(value as i64)) {
                        Some(TDim::Val(previous)) if previous != value as i64 => return Err(mismatch()),
                        _ => {}
                    },
                    TDim::Val(v) if *v != value as i64 => return Err(mismatch()),
                    _ => {}
                }
            }
        }
        Ok(symbols)
    }
}

fn describe(graph: &TypedModel, outlets: TractResult<&[OutletId]>) -> Result<Vec<TensorInfo>, EngineError> {
    let outlets = outlets.map_err(|e| EngineError::ModelUnsupported(chain(&e)))?;
    outlets
        .iter()
        .map(|&outlet| {
            let fact = graph.outlet_fact(outlet).map_err(|e| EngineError::ModelUnsupported(chain(&e)))?;
            let name = graph.outlet_label(outlet).unwrap_or(&graph.node(outlet.node).name).to_string();
            Ok(TensorInfo {
                name,
                shape: fact.shape.iter().map(|d| d.to_string()).collect(),
                dtype: dtype_name(fact.datum_type),
            })
        })
        .collect()
}

/// tract-onnx 0.23.9 panics (an unchecked map lookup) on a graph output that no node, input
/// or initializer produces; with panic=abort that would end the Worker, so refuse it first.
/// Found by the `model_load` fuzz target.
fn check_graph_outputs(proto: &tract_onnx::pb::ModelProto) -> Result<(), EngineError> {
    let Some(graph) = &proto.graph else { return Ok(()) };
    let produced: std::collections::HashSet<&str> = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .chain(graph.node.iter().flat_map(|n| n.output.iter().map(String::as_str)))
        .collect();
    match graph.output.iter().find(|o| !produced.contains(o.name.as_str())) {
        Some(missing) => Err(EngineError::ModelInvalid(format!(
            "the graph's output {:?} is not produced by any node, input or initializer",
            missing.name
        ))),
        None => Ok(()),
    }
}
