//! A description of a model file that needs no successful load: what `ssc inspect` prints,
//! so a user can see *why* a model will not run (its unsupported operators, say).

use serde::Serialize;

use crate::model::sha256_hex;
use crate::onnx_ops::{self, OpReport};
use crate::{sniff, EngineError, Limits, ModelFormat, TensorInfo};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    pub format: ModelFormat,
    pub bytes: usize,
    pub sha256: String,
    /// As the file declares them (initializers excluded); dims are numbers or symbols.
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    pub ops: OpReport,
}

/// Reads an ONNX model's protobuf, or a TFLite model's flatbuffer, and reports its interface
/// and operators.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<Inspection, EngineError> {
    limits.check_model_bytes(bytes.len())?;
    let format = sniff(bytes);
    let (inputs, outputs, ops) = match format {
        ModelFormat::Tflite => crate::tflite::describe(bytes)?,
        format => {
            format.require_loadable()?;
            let onnx = tract_onnx::onnx();
            let proto = onnx_ops::parse(&onnx, bytes)?;
            let (inputs, outputs) = onnx_ops::declared_io(&proto);
            (inputs, outputs, onnx_ops::scan(&proto, &|op| onnx.op_register.0.contains_key(op)))
        }
    };
    Ok(Inspection { format, bytes: bytes.len(), sha256: sha256_hex(bytes), inputs, outputs, ops })
}
