//! PRELU(x, alpha) = relu(x) + alpha * (x - relu(x)), with ops tract-tflite loads.
//! `x - relu(x)` is exactly `min(x, 0)`, so no rounding is added.

use tract_tflite::tflite::BuiltinOperator as B;

use crate::tflite::graph::{Graph, Op, Options};
use crate::tflite::TfliteError;

pub(super) fn expand<'a>(graph: &mut Graph<'a>, op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    if !op.is(B::PRELU) {
        return Ok(vec![op]);
    }
    let [x, alpha] = op.inputs[..] else {
        return Err(TfliteError::Invalid(format!("PRELU takes 2 inputs, this one has {}", op.inputs.len())));
    };
    let y = op.outputs[0];
    let positive = graph.add_intermediate(y, "positive");
    let negative = graph.add_intermediate(y, "negative");
    let scaled = graph.add_intermediate(y, "scaled");
    Ok(vec![
        Op::new(B::RELU, vec![x], vec![positive], Options::None),
        Op::new(B::SUB, vec![x, positive], vec![negative], Options::Arithmetic),
        Op::new(B::MUL, vec![negative, alpha], vec![scaled], Options::Arithmetic),
        Op::new(B::ADD, vec![positive, scaled], vec![y], Options::Arithmetic),
    ])
}
