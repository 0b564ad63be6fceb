//! ARG_MAX/ARG_MIN over a constant axis, as the lowest index where the input equals its
//! maximum (minimum): REDUCE_MAX, EQUAL, SELECT_V2 over an index ramp, REDUCE_MIN.
//!
//! tract-tflite has no integer cast, so the indices are computed in float32 (exact below
//! 2^24) and the output tensor becomes float32; a CAST of it to float32 becomes an identity.

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::{constant_i32, f32_bytes, i32_bytes, reshape};
use crate::tflite::graph::{Graph, Op, Options};
use crate::tflite::TfliteError;

pub(super) fn expand<'a>(graph: &mut Graph<'a>, op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    if op.is(B::CAST) && graph.tensor(op.inputs[0]).dtype == graph.tensor(op.outputs[0]).dtype {
        return Ok(vec![reshape::to_shape(graph, op.inputs[0], op.outputs[0])]);
    }
    let extremum = if op.is(B::ARG_MAX) {
        B::REDUCE_MAX
    } else if op.is(B::ARG_MIN) {
        B::REDUCE_MIN
    } else {
        return Ok(vec![op]);
    };
    let [x, axis] = op.inputs[..] else {
        return Err(TfliteError::Invalid(format!("{} takes 2 inputs", op.kind.name())));
    };
    let shape = graph.tensor(x).shape.clone();
    let rank = shape.len() as i32;
    let axis = match constant_i32(graph, axis).as_deref() {
        Some([a]) if (-rank..rank).contains(a) => a.rem_euclid(rank.max(1)) as usize,
        _ => return Err(TfliteError::Unsupported(format!("{} over an axis computed at run time", op.kind.name()))),
    };
    let y = op.outputs[0];
    {
        let out = &mut graph.tensors[y as usize];
        (out.dtype, out.quantization) = (TensorType::FLOAT32, None);
    }
    let name = graph.tensor(y).name.clone();
    let axes = graph.add_constant(format!("{name}.axis"), vec![1], TensorType::INT32, i32_bytes(&[axis as i32]));
    let mut kept = shape.clone();
    kept[axis] = 1;
    let mut ramp_shape = vec![1; shape.len()];
    ramp_shape[axis] = shape[axis];
    let ramp: Vec<f32> = (0..shape[axis]).map(|i| i as f32).collect();
    let ramp = graph.add_constant(format!("{name}.ramp"), ramp_shape, TensorType::FLOAT32, f32_bytes(&ramp));
    let past_end =
        graph.add_constant(format!("{name}.past_end"), vec![], TensorType::FLOAT32, f32_bytes(&[shape[axis] as f32]));
    let best = graph.add_shaped(x, "best", kept);
    let hits = graph.add_shaped(x, "hits", shape.clone());
    graph.tensors[hits as usize].dtype = TensorType::BOOL;
    let candidates = graph.add_shaped(y, "candidates", shape);
    graph.tensors[candidates as usize].dtype = TensorType::FLOAT32;
    Ok(vec![
        Op::new(extremum, vec![x, axes], vec![best], Options::Reducer { keep_dims: true }),
        Op::new(B::EQUAL, vec![x, best], vec![hits], Options::None),
        Op::new(B::SELECT_V2, vec![hits, ramp, past_end], vec![candidates], Options::None),
        Op::new(B::REDUCE_MIN, vec![candidates, axes], vec![y], Options::Reducer { keep_dims: false }),
    ])
}
