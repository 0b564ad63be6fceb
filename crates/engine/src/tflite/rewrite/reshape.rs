//! RESHAPE and SQUEEZE become a RESHAPE to the output's declared shape, given as a constant.
//!
//! tract-tflite unwraps a constant shape input (or the `new_shape` option) and panics when
//! it is computed or absent; and it ignores SQUEEZE without `squeeze_dims`, which TFLite
//! reads as "drop every axis of size 1". The output tensor's shape says the result in all cases.

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::i32_bytes;
use crate::tflite::graph::{Graph, Op, Options};
use crate::tflite::TfliteError;

pub(super) fn normalize<'a>(graph: &mut Graph<'a>, op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    if !(op.is(B::RESHAPE) || op.is(B::SQUEEZE)) {
        return Ok(vec![op]);
    }
    let (Some(&x), Some(&y)) = (op.inputs.first(), op.outputs.first()) else {
        return Err(TfliteError::Invalid(format!("{} without an input", op.kind.name())));
    };
    Ok(vec![to_shape(graph, x, y)])
}

/// A RESHAPE of `x` into `y`'s declared shape.
pub(super) fn to_shape<'a>(graph: &mut Graph<'a>, x: i32, y: i32) -> Op<'a> {
    let target = graph.tensor(y).shape.clone();
    let name = format!("{}.shape", graph.tensor(y).name);
    let shape = graph.add_constant(name, vec![target.len() as i32], TensorType::INT32, i32_bytes(&target));
    Op::new(B::RESHAPE, vec![x, shape], vec![y], Options::None)
}
