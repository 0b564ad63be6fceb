//! STRIDED_SLICE with `shrink_axis_mask` (what `x[:, 0]` converts to) becomes a slice that
//! keeps the axis, then a RESHAPE that drops it: tract-tflite refuses the mask.

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::{constant_i32, i32_bytes, reshape};
use crate::tflite::graph::{Graph, Op, Options};
use crate::tflite::TfliteError;

pub(super) fn expand_shrink_axes<'a>(graph: &mut Graph<'a>, op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    if !op.is(B::STRIDED_SLICE) {
        return Ok(vec![op]);
    }
    let Options::Source(src) = op.options else { return Ok(vec![op]) };
    let Some(o) = src.builtin_options_as_strided_slice_options() else { return Ok(vec![op]) };
    if o.shrink_axis_mask() == 0 {
        return Ok(vec![op]);
    }
    let unsupported = |why: &str| Err(TfliteError::Unsupported(format!("STRIDED_SLICE with shrink_axis_mask {why}")));
    if o.new_axis_mask() != 0 || o.ellipsis_mask() != 0 {
        return unsupported("combined with new_axis_mask or ellipsis_mask");
    }
    let [x, begin, end, strides] = op.inputs[..] else { return unsupported("needs 4 inputs") };
    let (Some(mut begin_v), Some(mut end_v), Some(mut strides_v)) =
        (constant_i32(graph, begin), constant_i32(graph, end), constant_i32(graph, strides))
    else {
        return unsupported("needs constant begin, end and strides");
    };
    let dims = graph.tensor(x).shape.clone();
    if begin_v.len() != dims.len() || end_v.len() != dims.len() || strides_v.len() != dims.len() {
        return unsupported("needs one begin, end and stride per input axis");
    }
    let (mut begin_mask, mut end_mask) = (o.begin_mask(), o.end_mask());
    let mut kept_shape = Vec::with_capacity(dims.len());
    let mut output_dims = graph.tensor(op.outputs[0]).shape.clone().into_iter();
    for axis in 0..dims.len() {
        let bit = 1 << axis;
        if o.shrink_axis_mask() & bit == 0 {
            kept_shape.push(output_dims.next().unwrap_or(1));
            continue;
        }
        // TFLite slices [begin, begin + 1) on a shrunk axis, whatever end and the masks say.
        let b = if begin_mask & bit != 0 { 0 } else { begin_v[axis] };
        let b = if b < 0 { b + dims[axis] } else { b };
        if !(0..dims[axis]).contains(&b) {
            return Err(TfliteError::Invalid(format!("STRIDED_SLICE index {b} is out of range for axis {axis}")));
        }
        begin_v[axis] = b;
        end_v[axis] = b + 1;
        strides_v[axis] = 1;
        begin_mask &= !bit;
        end_mask &= !bit;
        kept_shape.push(1);
    }
    let y = op.outputs[0];
    let name = graph.tensor(y).name.clone();
    let rank = vec![dims.len() as i32];
    let begin = graph.add_constant(format!("{name}.begin"), rank.clone(), TensorType::INT32, i32_bytes(&begin_v));
    let end = graph.add_constant(format!("{name}.end"), rank.clone(), TensorType::INT32, i32_bytes(&end_v));
    let strides = graph.add_constant(format!("{name}.strides"), rank, TensorType::INT32, i32_bytes(&strides_v));
    let kept = graph.add_intermediate(y, "kept_axes");
    graph.tensors[kept as usize].shape = kept_shape;
    Ok(vec![
        Op::new(
            B::STRIDED_SLICE,
            vec![x, begin, end, strides],
            vec![kept],
            Options::StridedSlice { begin_mask, end_mask },
        ),
        reshape::to_shape(graph, kept, y),
    ])
}
