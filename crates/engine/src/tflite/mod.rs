//! Loading TFLite models through tract-tflite.
//!
//! tract-tflite 0.23 panics or bails on most files real converters write (empty quantization
//! tables, fp16 weights behind DEQUANTIZE, PRELU, STRIDED_SLICE that drops axes, …), and its
//! op registry is private. So the flatbuffer is read and checked here, rewritten into the
//! subset of ops tract-tflite loads correctly, and re-serialized before tract-tflite sees it.

mod graph;
mod options;
mod rewrite;
mod support;
mod write;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use thiserror::Error;
use tract_onnx::prelude::*;

use crate::{EngineError, Limits, OpReport, TensorInfo};
use graph::Graph;

/// Why a TFLite file could not be loaded.
#[derive(Debug, Error, Clone, PartialEq)]
pub(crate) enum TfliteError {
    #[error("the TFLite file is not valid: {0}")]
    Invalid(String),
    #[error("the TFLite model uses operators this engine cannot run: {}", .0.join(", "))]
    UnsupportedOps(Vec<String>),
    #[error("the TFLite model cannot be prepared: {0}")]
    Unsupported(String),
}

impl From<TfliteError> for EngineError {
    fn from(e: TfliteError) -> Self {
        match e {
            TfliteError::Invalid(_) => EngineError::ModelInvalid(e.to_string()),
            TfliteError::UnsupportedOps(ops) => EngineError::UnsupportedOps { ops, hint: String::new() },
            TfliteError::Unsupported(_) => EngineError::unsupported(e.to_string()),
        }
    }
}

/// The builtin operators a TFLite file may use: those tract-tflite loads as they are, and
/// those the rewrites replace, with the condition under which they do. Sorted by name.
pub(crate) fn builtin_support() -> (Vec<String>, Vec<(String, &'static str)>) {
    let name = |code: &tract_tflite::tflite::BuiltinOperator| graph::OpKind::Builtin(*code).name();
    let mut loaded: Vec<String> = support::LOADED_BY_TRACT.iter().map(name).collect();
    let mut rewritten: Vec<(String, &'static str)> =
        rewrite::REWRITTEN.iter().map(|(c, how)| (name(c), *how)).collect();
    let (custom, how) = rewrite::CUSTOM_REWRITTEN;
    rewritten.push((graph::OpKind::Custom(custom.into()).name(), how));
    loaded.sort();
    rewritten.sort();
    (loaded, rewritten)
}

/// The interface and operators a TFLite file declares, for `inspect`: read without loading,
/// so a model that will not load can still be described. An operator counts as unsupported
/// when it is still unsupported after the rewrites that `load` applies.
pub(crate) fn describe(bytes: &[u8]) -> Result<(Vec<TensorInfo>, Vec<TensorInfo>, OpReport), EngineError> {
    let graph = Graph::read(bytes)?;
    let mut histogram = BTreeMap::new();
    for op in &graph.ops {
        *histogram.entry(op.kind.name()).or_insert(0) += 1;
    }
    let info = |&index: &i32| {
        let tensor = graph.tensor(index);
        TensorInfo {
            name: tensor.name.clone(),
            shape: tensor.shape.iter().map(|d| d.to_string()).collect(),
            dtype: tensor
                .dtype
                .variant_name()
                .map(str::to_lowercase)
                .unwrap_or_else(|| format!("type {}", tensor.dtype.0)),
        }
    };
    let (inputs, outputs) = (graph.inputs.iter().map(info).collect(), graph.outputs.iter().map(info).collect());
    let mut rewritten = graph.clone();
    let unsupported = match rewrite::rewrite(&mut rewritten).and_then(|()| support::check(&rewritten)) {
        Err(TfliteError::UnsupportedOps(ops)) => ops,
        _ => Vec::new(),
    };
    Ok((inputs, outputs, OpReport { histogram, unsupported }))
}

/// Reads, rewrites and loads a TFLite model into a decluttered tract graph whose inputs and
/// outputs carry the tensor names of the file.
pub(crate) fn load(bytes: &[u8], limits: &Limits) -> Result<TypedModel, EngineError> {
    let mut graph = Graph::read(bytes)?;
    // Declared shapes size the allocations (and the shape arithmetic) that follow.
    for tensor in &graph.tensors {
        limits.check_tensor(&tensor.shape.iter().map(|&d| d as usize).collect::<Vec<_>>())?;
    }
    rewrite::rewrite(&mut graph)?;
    support::check(&graph)?;
    let flat = write::write(&graph)?;
    let output_names: Vec<String> = graph.outputs.iter().map(|&o| graph.tensor(o).name.clone()).collect();
    // The rewrites above remove every panic known in tract-tflite 0.23.9; this guard turns an
    // unknown one into an error (in builds that unwind: the wasm build aborts on panic).
    let loaded = catch_unwind(AssertUnwindSafe(|| {
        let mut model = tract_tflite::tflite().model_for_read(&mut &flat[..])?;
        for (ix, name) in output_names.iter().enumerate() {
            let outlet = model.output_outlets()?[ix];
            model.set_outlet_label(outlet, name.clone())?;
        }
        model.into_decluttered()
    }));
    match loaded {
        Ok(Ok(model)) => Ok(model),
        // The outer contexts of tract-tflite's errors are debug dumps of whole operators.
        Ok(Err(e)) => Err(TfliteError::Unsupported(format!("tract-tflite refused it: {}", e.root_cause())).into()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(TfliteError::Unsupported(format!("tract-tflite failed on this model ({what})")).into())
        }
    }
}
