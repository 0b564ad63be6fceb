use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use crate::disclosure::StaticSizes;
use crate::error::{chain, untypable};
use crate::tensor::dtype_name;
use crate::{binary_trees, fold_if, onnx_ops, shape_casts};
use crate::{sniff, EngineError, Limits, ModelFormat};

/// A model input or output as declared by the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    /// Each dim is a number, or the symbol the model declares (for example `"N"`).
    pub shape: Vec<String>,
    pub dtype: String,
}

pub type Plan = Arc<TypedRunnableModel>;

/// The graph a model's plans are built from.
enum Graph {
    /// Typed and decluttered at load, its open dims as symbols: each input shape only binds them.
    Typed(TypedModel),
    /// A graph tract types only once its open input dims are numbers: exported vision models
    /// whose shape arithmetic cannot be proved for every size (a Reshape to a fixed width, two
    /// upsampled branches concatenated), or whose inner annotations contradict the symbols.
    /// It is typed per input shape at plan time, the way onnxruntime does it; plans are cached
    /// per shape all the same. `If`s the shapes and settings fix are folded first (`fold_if.rs`),
    /// from the rewritten protobuf kept here.
    PerShape { inference: InferenceModel, proto: Option<Box<tract_onnx::pb::ModelProto>> },
}

/// A loaded, verified model, ready to run on any input shape it accepts.
///
/// Optimizing a graph whose batch dim is still symbolic leaves generic kernels in place;
/// the project's design brief measured such plans 3.5–4x slower in the browser. So the
/// decluttered graph is kept, and a fully concrete, optimized plan is built and cached
/// per distinct set of input shapes.
pub struct Model {
    sha256: String,
    graph: Graph,
    /// The declared dtype of each input, which request values are converted to.
    input_dtypes: Vec<DatumType>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    limits: Limits,
    /// By input shapes, and for a graph with folded Ifs, the values of its settings.
    plans: Mutex<HashMap<(Vec<Vec<usize>>, Vec<String>), Plan>>,
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
    /// Loads an ONNX or TFLite model (told apart by content) from bytes. When `expected_sha256` is given, the bytes must hash
    /// to it, so a model that was swapped or corrupted on its way is never run.
    pub fn load(bytes: &[u8], expected_sha256: Option<&str>, limits: &Limits) -> Result<Self, EngineError> {
        limits.check_model_bytes(bytes.len())?;
        Self::load_hashed(bytes, expected_sha256, &sha256_hex(bytes), limits)
    }

    /// As [`Model::load`], with the bytes' sha256 already computed by the caller: in the browser
    /// the Worker asks the browser's native SHA-256, where this build's took half of a 14 MB
    /// model's load (measured in Chromium).
    pub fn load_hashed(
        bytes: &[u8],
        expected_sha256: Option<&str>,
        sha256: &str,
        limits: &Limits,
    ) -> Result<Self, EngineError> {
        limits.check_model_bytes(bytes.len())?;
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(EngineError::InvalidRequest(format!("{sha256:?} is not a lowercase hex sha256")));
        }
        let sha256 = sha256.to_string();
        if let Some(expected) = expected_sha256 {
            if !expected.eq_ignore_ascii_case(&sha256) {
                return Err(EngineError::Sha256Mismatch { expected: expected.to_string(), actual: sha256 });
            }
        }
        let graph = match sniff(bytes) {
            ModelFormat::Tflite => Graph::Typed(crate::tflite::load(bytes, limits)?),
            format => load_onnx(format, bytes)?,
        };
        let (inputs, input_dtypes, outputs) = match &graph {
            Graph::Typed(typed) => {
                let dtypes = (0..typed.inputs.len())
                    .map(|ix| typed.input_fact(ix).map(|f| f.datum_type))
                    .collect::<TractResult<Vec<_>>>()
                    .map_err(|e| untypable(&e))?;
                (
                    describe(typed, typed.input_outlets(), Naming::Source)?,
                    dtypes,
                    describe(typed, typed.output_outlets(), Naming::Label)?,
                )
            }
            Graph::PerShape { inference, .. } => describe_inference(inference)?,
        };
        Ok(Self { sha256, graph, input_dtypes, inputs, outputs, limits: *limits, plans: Mutex::new(HashMap::new()) })
    }

    /// The limits the model was loaded under, which its runs are checked against too.
    pub fn limits(&self) -> &Limits {
        &self.limits
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

    /// The declared dtype of input `index`, which request values are converted to.
    pub(crate) fn input_dtype(&self, index: usize) -> DatumType {
        self.input_dtypes[index]
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

    /// Casts `inputs` (in the model's input order) to the dtypes the model declares.
    pub fn cast_inputs(&self, inputs: Vec<Tensor>) -> Result<TVec<TValue>, EngineError> {
        if inputs.len() != self.inputs.len() {
            return Err(EngineError::InvalidRequest(format!(
                "the model takes {} inputs, {} were given",
                self.inputs.len(),
                inputs.len()
            )));
        }
        let mut cast = TVec::new();
        for (ix, tensor) in inputs.into_iter().enumerate() {
            let dtype = self.input_dtypes[ix];
            // Requests are built in the declared dtype already; only a mismatch pays for a copy.
            let tensor = if tensor.datum_type() == dtype {
                tensor
            } else {
                tensor.cast_to_dt(dtype).map(|t| t.into_owned()).map_err(|_| EngineError::UnsupportedDtype {
                    what: format!("input {:?}", self.inputs[ix].name),
                    dtype: dtype_name(dtype),
                })?
            };
            cast.push(tensor.into_tvalue());
        }
        Ok(cast)
    }

    /// Runs a plan from [`Model::plan_for`] on inputs from [`Model::cast_inputs`].
    pub fn execute(&self, plan: &Plan, inputs: TVec<TValue>) -> Result<Vec<(String, Tensor)>, EngineError> {
        let results = plan.run(inputs).map_err(|e| EngineError::Inference(chain(&e)))?;
        Ok(self.outputs.iter().map(|o| o.name.clone()).zip(results.into_iter().map(|v| v.into_tensor())).collect())
    }

    /// The element count of each output that the plan fixes for its input shapes; an output
    /// whose size the input's values decide (a detector's boxes after NMS) has none.
    pub(crate) fn static_sizes(&self, plan: &Plan) -> StaticSizes {
        let model = plan.model();
        let outlets = model.output_outlets().map(<[OutletId]>::to_vec).unwrap_or_default();
        let sizes = outlets.iter().zip(&self.outputs).filter_map(|(&outlet, info)| {
            let shape = model.outlet_fact(outlet).ok()?.shape.as_concrete()?.to_vec();
            Some((info.name.clone(), shape.iter().product()))
        });
        StaticSizes(sizes.collect())
    }

    /// Builds the plan for the declared input shapes before any request, so that a first run
    /// of those shapes finds it ready. Only when the model declares every dim as a number: an
    /// open dim's size comes from a request, and a rank-0 input (a setting of a folded If)
    /// plans per value.
    pub fn prepare(&self) -> Result<(), EngineError> {
        let mut inputs = TVec::new();
        for (info, &dtype) in self.inputs.iter().zip(&self.input_dtypes) {
            let shape: Option<Vec<usize>> = info.shape.iter().map(|dim| dim.parse().ok()).collect();
            let Some(shape) = shape.filter(|shape| !shape.is_empty()) else { return Ok(()) };
            self.limits.check_tensor(&shape)?;
            let zeros = Tensor::zero_dt(dtype, &shape).map_err(|e| untypable(&e))?;
            inputs.push(zeros.into_tvalue());
        }
        self.plan_for(&inputs).map(|_| ())
    }

    /// The optimized plan for these input shapes: built on the first call per shape, then cached.
    /// Kept apart from [`Model::execute`] so that building it is timed apart from inference.
    pub fn plan_for(&self, inputs: &[TValue]) -> Result<Plan, EngineError> {
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
        // A graph whose Ifs are folded has a plan per value of its settings (rank-0 inputs) too.
        let settings: Vec<(String, Tensor)> = match &self.graph {
            Graph::PerShape { proto: Some(_), .. } => inputs
                .iter()
                .zip(&self.inputs)
                .filter(|(t, _)| t.rank() == 0)
                .map(|(t, info)| (info.name.clone(), t.clone().into_tensor()))
                .collect(),
            _ => vec![],
        };
        let key = (shapes, settings.iter().map(|(n, t)| format!("{n}={t:?}")).collect::<Vec<_>>());
        let mut plans = self.plans.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(plan) = plans.get(&key) {
            return Ok(plan.clone());
        }
        let symbols = self.bind_symbols(&key.0)?;
        let optimized = match &self.graph {
            Graph::Typed(typed) => typed.set_symbols(&symbols).and_then(|m| m.into_optimized()),
            Graph::PerShape { inference, proto: None } => {
                self.concrete(inference, &key.0).and_then(|m| m.into_optimized())
            }
            Graph::PerShape { proto: Some(proto), .. } => {
                self.folded(proto, &key.0, settings.into_iter().collect()).and_then(|m| m.into_optimized())
            }
        }
        .map_err(|e| untypable(&e))?;
        self.check_intermediates(&optimized)?;
        let plan = optimized.into_runnable().map_err(|e| untypable(&e))?;
        plans.insert(key, plan.clone());
        Ok(plan)
    }

    /// With every input shape known, so is (nearly) every tensor the plan will allocate: refuse
    /// one over the element limit now, rather than abort on an allocation failure mid-run (an
    /// `Expand` to [100000, 100000] from a one-number input, say). The weights themselves are
    /// bounded by `max_model_bytes`.
    fn check_intermediates(&self, plan: &TypedModel) -> Result<(), EngineError> {
        for node in plan.nodes() {
            if node.op_is::<tract_onnx::tract_core::ops::konst::Const>() {
                continue;
            }
            for output in &node.outputs {
                if let Some(shape) = output.fact.shape.as_concrete() {
                    self.limits.check_tensor(shape)?;
                }
            }
        }
        Ok(())
    }

    /// The protobuf with the Ifs these shapes and settings fix folded, as an inference graph
    /// with every input fact made concrete.
    fn folded(
        &self,
        proto: &tract_onnx::pb::ModelProto,
        shapes: &[Vec<usize>],
        settings: HashMap<String, Tensor>,
    ) -> TractResult<InferenceModel> {
        let onnx = tract_onnx::onnx();
        let facts = self
            .inputs
            .iter()
            .zip(shapes)
            .zip(&self.input_dtypes)
            .map(|((info, shape), dt)| (info.name.clone(), (*dt, shape.clone())))
            .collect();
        let mut proto = proto.clone();
        fold_if::fold(&onnx, &mut proto, &facts, &settings)?;
        self.concrete(&onnx.model_for_proto_model(&proto)?, shapes)
    }

    /// An inference graph with every input fact made concrete, for [`Graph::PerShape`].
    fn concrete(&self, inference: &InferenceModel, shapes: &[Vec<usize>]) -> TractResult<InferenceModel> {
        let mut model = inference.clone();
        for (ix, shape) in shapes.iter().enumerate() {
            model.set_input_fact(ix, InferenceFact::dt_shape(self.input_dtypes[ix], shape))?;
        }
        Ok(model)
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
            // Typed per shape, a graph has no symbols: its rules are the declared rank and numbers.
            let declared: Vec<Option<TDim>> = match &self.graph {
                Graph::Typed(typed) => {
                    let fact = typed.input_fact(ix).map_err(|e| EngineError::Inference(chain(&e)))?;
                    fact.shape.iter().map(|d| Some(d.clone())).collect()
                }
                Graph::PerShape { .. } => info.shape.iter().map(|d| d.parse::<i64>().ok().map(TDim::Val)).collect(),
            };
            if declared.len() != actual.len() {
                return Err(mismatch());
            }
            for (dim, &value) in declared.iter().zip(actual) {
                match dim {
                    Some(TDim::Sym(sym)) => match symbols.insert(sym.clone(), TDim::Val(value as i64)) {
                        Some(TDim::Val(previous)) if previous != value as i64 => return Err(mismatch()),
                        _ => {}
                    },
                    Some(TDim::Val(v)) if *v != value as i64 => return Err(mismatch()),
                    _ => {}
                }
            }
        }
        Ok(symbols)
    }
}

/// Parses an ONNX model after checking, on its protobuf, that every operator is one tract runs.
/// A graph whose open input dims keep tract from typing it is kept for typing per input shape.
fn load_onnx(format: ModelFormat, bytes: &[u8]) -> Result<Graph, EngineError> {
    format.require_loadable()?;
    let onnx = tract_onnx::onnx();
    let mut proto = onnx_ops::parse(&onnx, bytes)?;
    check_graph_outputs(&proto)?;
    onnx_ops::require_embedded_weights(&proto)?;
    onnx_ops::scan(&proto, &|op| onnx.op_register.0.contains_key(op)).require_supported()?;
    onnx_ops::name_open_dims(&mut proto);
    onnx_ops::unique_node_names(&mut proto);
    shape_casts::rewrite(&mut proto);
    binary_trees::rewrite(&mut proto);
    let inference = onnx.model_for_proto_model(&proto).map_err(|e| EngineError::ModelInvalid(chain(&e)))?;
    match inference.clone().into_typed().and_then(|m| m.into_decluttered()) {
        Ok(typed) => Ok(Graph::Typed(typed)),
        Err(_) if has_if(&proto) => Ok(Graph::PerShape { inference, proto: Some(Box::new(proto)) }),
        Err(_) if has_open_input_dims(&inference) => Ok(Graph::PerShape { inference, proto: None }),
        Err(e) => Err(untypable(&e)),
    }
}

fn has_if(proto: &tract_onnx::pb::ModelProto) -> bool {
    proto.graph.as_ref().is_some_and(|g| g.node.iter().any(|n| n.op_type == "If" && n.domain.is_empty()))
}

fn has_open_input_dims(inference: &InferenceModel) -> bool {
    (0..inference.inputs.len()).any(|ix| {
        inference
            .input_fact(ix)
            .is_ok_and(|f| f.shape.dims().any(|d| d.concretize().is_none_or(|d| d.to_i64().is_err())))
    })
}

/// The interface of a graph typed per shape: names, declared input dtypes, and each dim as
/// its number or `?`. An output's dtype and dims are known only once a shape is planned.
#[allow(clippy::type_complexity)]
fn describe_inference(
    inference: &InferenceModel,
) -> Result<(Vec<TensorInfo>, Vec<DatumType>, Vec<TensorInfo>), EngineError> {
    let fact = |outlet: OutletId| inference.outlet_fact(outlet).map_err(|e| untypable(&e));
    let shape = |fact: &InferenceFact| -> Vec<String> {
        fact.shape.dims().map(|d| d.concretize().map(|d| d.to_string()).unwrap_or_else(|| "?".into())).collect()
    };
    let mut inputs = vec![];
    let mut dtypes = vec![];
    for &outlet in &inference.inputs {
        let name = inference.node(outlet.node).name.clone();
        let fact = fact(outlet)?;
        let dtype = fact.datum_type.concretize().ok_or_else(|| {
            EngineError::unsupported(format!("the model does not declare the dtype of input {name:?}"))
        })?;
        inputs.push(TensorInfo { name, shape: shape(fact), dtype: dtype_name(dtype) });
        dtypes.push(dtype);
    }
    let outputs = inference
        .outputs
        .iter()
        .map(|&outlet| {
            let fact = fact(outlet)?;
            Ok(TensorInfo {
                name: inference.outlet_label(outlet).unwrap_or(&inference.node(outlet.node).name).to_string(),
                shape: shape(fact),
                dtype: fact.datum_type.concretize().map(dtype_name).unwrap_or_else(|| "?".into()),
            })
        })
        .collect::<Result<_, EngineError>>()?;
    Ok((inputs, dtypes, outputs))
}
/// Where a model's input or output name lives in tract's graph.
enum Naming {
    /// An input is a source node named after it. Its outlet label is not reliable: when
    /// decluttering removes the op right after an input (a no-op Cast, say), that op's
    /// output label moves onto the source.
    Source,
    /// An output is labelled with its ONNX name.
    Label,
}

fn describe(
    graph: &TypedModel,
    outlets: TractResult<&[OutletId]>,
    naming: Naming,
) -> Result<Vec<TensorInfo>, EngineError> {
    let outlets = outlets.map_err(|e| untypable(&e))?;
    outlets
        .iter()
        .map(|&outlet| {
            let fact = graph.outlet_fact(outlet).map_err(|e| untypable(&e))?;
            let node_name = &graph.node(outlet.node).name;
            let name = match naming {
                Naming::Source => node_name,
                Naming::Label => graph.outlet_label(outlet).unwrap_or(node_name),
            }
            .to_string();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str) -> Model {
        let path = format!("{}/../../examples/models/{name}", env!("CARGO_MANIFEST_DIR"));
        Model::load(&std::fs::read(path).unwrap(), None, &Limits::default()).unwrap()
    }

    fn planned(model: &Model) -> Vec<Vec<Vec<usize>>> {
        model.plans.lock().unwrap().keys().map(|(shapes, _)| shapes.clone()).collect()
    }

    #[test]
    fn a_digest_computed_by_the_caller_is_checked_against_the_declared_one() {
        let path = format!("{}/../../examples/models/digits_mlp.onnx", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(path).unwrap();
        let actual = sha256_hex(&bytes);
        let limits = Limits::default();
        let model = Model::load_hashed(&bytes, Some(&actual.to_uppercase()), &actual, &limits).unwrap();
        assert_eq!(model.sha256(), actual);
        let other = "0".repeat(64);
        let err = Model::load_hashed(&bytes, Some(&other), &actual, &limits).unwrap_err();
        assert_eq!(err.code(), "sha256_mismatch");
        let err = Model::load_hashed(&bytes, None, &actual.to_uppercase(), &limits).unwrap_err();
        assert_eq!(err.code(), "invalid_request", "{err}");
    }

    #[test]
    fn prepare_plans_the_declared_shapes_when_every_dim_is_a_number() {
        let fixed = load("ct_air_tissue.onnx");
        fixed.prepare().unwrap();
        assert_eq!(planned(&fixed), vec![vec![vec![1, 1, 64, 64]]]);
        // [N, 64]: N comes from a request.
        let open = load("digits_mlp.onnx");
        open.prepare().unwrap();
        assert!(planned(&open).is_empty());
    }
}
