//! Fused activations past RELU/RELU6 become their own operators after the fused one.

use tract_tflite::tflite::{ActivationFunctionType as Act, BuiltinOperator as B, TensorType};

use super::f32_bytes;
use crate::tflite::graph::{Graph, Op, Options};
use crate::tflite::options::fused_activation;
use crate::tflite::TfliteError;

pub(super) fn unfuse<'a>(graph: &mut Graph<'a>, mut op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    let act = fused_activation(&op);
    if matches!(act, Act::NONE | Act::RELU | Act::RELU6) {
        return Ok(vec![op]);
    }
    let y = op.outputs[0];
    if graph.tensor(y).dtype != TensorType::FLOAT32 {
        return Err(TfliteError::Unsupported(format!(
            "fused activation {} on a quantized {}",
            act.variant_name().unwrap_or("?"),
            op.kind.name()
        )));
    }
    let pre = graph.add_intermediate(y, "pre_activation");
    op.outputs[0] = pre;
    op.clear_fused_activation = true;
    let mut ops = vec![op];
    match act {
        Act::TANH => ops.push(Op::new(B::TANH, vec![pre], vec![y], Options::None)),
        Act::RELU_N1_TO_1 => {
            let name = graph.tensor(y).name.clone();
            let low = graph.add_constant(format!("{name}.min"), vec![], TensorType::FLOAT32, f32_bytes(&[-1.0]));
            let high = graph.add_constant(format!("{name}.max"), vec![], TensorType::FLOAT32, f32_bytes(&[1.0]));
            let floored = graph.add_intermediate(y, "floored");
            ops.push(Op::new(B::MAXIMUM, vec![pre, low], vec![floored], Options::None));
            ops.push(Op::new(B::MINIMUM, vec![floored, high], vec![y], Options::None));
        }
        other => {
            return Err(TfliteError::Unsupported(format!(
                "fused activation {}",
                other.variant_name().unwrap_or("unknown")
            )))
        }
    }
    Ok(ops)
}
