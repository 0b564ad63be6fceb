//! Convolutions and dense layers may omit their bias (input -1); tract-tflite needs one.

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::f32_bytes;
use crate::tflite::graph::{Graph, Op};
use crate::tflite::TfliteError;

pub(super) fn add_omitted<'a>(graph: &mut Graph<'a>, mut op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    let takes_bias = op.is(B::CONV_2D) || op.is(B::DEPTHWISE_CONV_2D) || op.is(B::FULLY_CONNECTED);
    let omitted = op.inputs.len() == 2 || op.inputs.get(2) == Some(&-1);
    if !takes_bias || !omitted || op.inputs.len() < 2 {
        return Ok(vec![op]);
    }
    let y = op.outputs[0];
    if graph.tensor(y).dtype != TensorType::FLOAT32 {
        return Err(TfliteError::Unsupported(format!("{} on quantized tensors without a bias", op.kind.name())));
    }
    let channels = graph.tensor(y).shape.last().copied().unwrap_or(1);
    let name = format!("{}.zero_bias", graph.tensor(y).name);
    let bias = graph.add_constant(name, vec![channels], TensorType::FLOAT32, f32_bytes(&vec![0.0; channels as usize]));
    op.inputs.truncate(2);
    op.inputs.push(bias);
    Ok(vec![op])
}
