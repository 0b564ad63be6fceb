//! MEAN becomes SUM times 1/N: tract-tflite 0.23.9's MEAN multiplies by a reciprocal that
//! comes out as zero, so every float MEAN returned zeros.

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::{constant_i32, f32_bytes};
use crate::tflite::graph::{Graph, Op, OpKind, Options};
use crate::tflite::TfliteError;

pub(super) fn as_scaled_sum<'a>(graph: &mut Graph<'a>, mut op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    if !op.is(B::MEAN) || graph.tensor(op.outputs[0]).dtype != TensorType::FLOAT32 {
        return Ok(vec![op]);
    }
    let [x, axes] = op.inputs[..] else {
        return Err(TfliteError::Invalid(format!("MEAN takes 2 inputs, this one has {}", op.inputs.len())));
    };
    let Some(axes) = constant_i32(graph, axes) else {
        return Err(TfliteError::Unsupported("MEAN over axes computed at run time".into()));
    };
    let dims = graph.tensor(x).shape.clone();
    let rank = dims.len() as i32;
    let mut count = 1.0f64;
    for &axis in &axes {
        let axis = if axis < 0 { axis + rank } else { axis };
        let dim = dims
            .get(axis as usize)
            .filter(|_| axis >= 0)
            .ok_or_else(|| TfliteError::Invalid(format!("MEAN over axis {axis} of a rank {rank} tensor")))?;
        count *= f64::from(*dim);
    }
    let y = op.outputs[0];
    let sum = graph.add_intermediate(y, "sum");
    let name = format!("{}.inverse_count", graph.tensor(y).name);
    let inverse = graph.add_constant(name, vec![], TensorType::FLOAT32, f32_bytes(&[(1.0 / count) as f32]));
    // SUM reads the same ReducerOptions (keep_dims) as MEAN.
    op.kind = OpKind::Builtin(B::SUM);
    op.outputs[0] = sum;
    let scale = Op::new(B::MUL, vec![sum, inverse], vec![y], Options::Arithmetic);
    Ok(vec![op, scale])
}
