//! Constant operands that tract-tflite casts to `usize` unchecked: reduction axes (negative
//! ones are valid TFLite) are normalized, and PAD amounts must be non-negative and agree with
//! the declared output shape, so a corrupt constant cannot feed shape arithmetic that overflows.

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::{constant_i32, i32_bytes};
use crate::tflite::graph::{Graph, Op};
use crate::tflite::TfliteError;

const REDUCERS: [B; 5] = [B::MEAN, B::SUM, B::REDUCE_MAX, B::REDUCE_MIN, B::REDUCE_PROD];

pub(super) fn check<'a>(graph: &mut Graph<'a>, mut op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    let invalid = |what: String| Err(TfliteError::Invalid(format!("{} {what}", op.kind.name())));
    if REDUCERS.iter().any(|&c| op.is(c)) {
        let [x, axes] = op.inputs[..] else { return invalid("takes 2 inputs".into()) };
        let Some(values) = constant_i32(graph, axes) else {
            return Err(TfliteError::Unsupported(format!("{} over axes computed at run time", op.kind.name())));
        };
        let rank = graph.tensor(x).shape.len() as i32;
        let mut normalized = Vec::with_capacity(values.len());
        for axis in values {
            if !(-rank..rank).contains(&axis) {
                return invalid(format!("over axis {axis} of a rank {rank} tensor"));
            }
            let axis = axis.rem_euclid(rank);
            if !normalized.contains(&axis) {
                normalized.push(axis);
            }
        }
        let name = format!("{}.axes", graph.tensor(op.outputs[0]).name);
        let count = normalized.len() as i32;
        op.inputs[1] = graph.add_constant(name, vec![count], TensorType::INT32, i32_bytes(&normalized));
    } else if op.is(B::PAD) || op.is(B::PADV2) {
        let (Some(&x), Some(&pads)) = (op.inputs.first(), op.inputs.get(1)) else {
            return invalid("needs an input and paddings".into());
        };
        let Some(pads) = constant_i32(graph, pads) else {
            return Err(TfliteError::Unsupported(format!("{} with paddings computed at run time", op.kind.name())));
        };
        let input = &graph.tensor(x).shape;
        let output = &graph.tensor(op.outputs[0]).shape;
        let consistent = pads.len() == 2 * input.len()
            && output.len() == input.len()
            && pads.iter().all(|&p| p >= 0)
            && input
                .iter()
                .zip(output)
                .zip(pads.chunks(2))
                .all(|((&i, &o), p)| i64::from(i) + i64::from(p[0]) + i64::from(p[1]) == i64::from(o));
        if !consistent {
            return invalid(format!("paddings {pads:?} do not take shape {input:?} to {output:?}"));
        }
    }
    Ok(vec![op])
}
