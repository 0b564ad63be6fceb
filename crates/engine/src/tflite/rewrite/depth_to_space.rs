//! DEPTH_TO_SPACE (NHWC, TFLite's DCR order) as RESHAPE, TRANSPOSE, RESHAPE:
//! `[n, h, w, b*b*c] -> [n, h, w, b, b, c] -> [n, h, b, w, b, c] -> [n, h*b, w*b, c]`.

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::{i32_bytes, reshape};
use crate::tflite::graph::{Graph, Op, Options};
use crate::tflite::TfliteError;

pub(super) fn expand<'a>(graph: &mut Graph<'a>, op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    if !op.is(B::DEPTH_TO_SPACE) {
        return Ok(vec![op]);
    }
    let Options::Source(src) = op.options else { return Ok(vec![op]) };
    let block = src.builtin_options_as_depth_to_space_options().map(|o| o.block_size()).unwrap_or(0);
    let (x, y) = (op.inputs[0], op.outputs[0]);
    let (&[n, h, w, c], &[_, out_h, out_w, out_c]) = (&graph.tensor(x).shape[..], &graph.tensor(y).shape[..]) else {
        return Err(TfliteError::Unsupported("DEPTH_TO_SPACE on other than rank-4 tensors".into()));
    };
    if block < 1 || out_h != h * block || out_w != w * block || c != block * block * out_c {
        return Err(TfliteError::Invalid(format!(
            "DEPTH_TO_SPACE with block {block} cannot take {h}x{w}x{c} to {out_h}x{out_w}x{out_c}"
        )));
    }
    let split = graph.add_shaped(y, "blocks", vec![n, h, w, block, block, out_c]);
    let moved = graph.add_shaped(y, "interleaved", vec![n, h, block, w, block, out_c]);
    let name = graph.tensor(y).name.clone();
    let perm = graph.add_constant(format!("{name}.perm"), vec![6], TensorType::INT32, i32_bytes(&[0, 1, 3, 2, 4, 5]));
    Ok(vec![
        reshape::to_shape(graph, x, split),
        Op::new(B::TRANSPOSE, vec![split, perm], vec![moved], Options::None),
        reshape::to_shape(graph, moved, y),
    ])
}
