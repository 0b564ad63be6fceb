//! SPLIT, SPLIT_V, UNPACK, PACK, TILE and GATHER (with constant indices), which tract-tflite
//! lacks, as SLICE, RESHAPE and CONCATENATION on the shapes the file declares.

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::{constant_i32, i32_bytes, reshape};
use crate::tflite::graph::{Graph, Op, Options};
use crate::tflite::TfliteError;

/// Indices of a GATHER are unrolled into one SLICE each; past this, the op stays unsupported.
const MAX_GATHERED: usize = 1024;

pub(super) fn expand<'a>(graph: &mut Graph<'a>, op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    let Options::Source(src) = op.options else { return Ok(vec![op]) };
    let code = |c: B| op.is(c);
    if code(B::SPLIT) {
        let [axis, x] = op.inputs[..] else { return invalid(&op, "takes 2 inputs") };
        let axis = axis_of(graph, scalar(graph, axis)?, x)?;
        return Ok(split(graph, x, axis, &op.outputs));
    }
    if code(B::SPLIT_V) {
        let [x, _sizes, axis] = op.inputs[..] else { return invalid(&op, "takes 3 inputs") };
        let axis = axis_of(graph, scalar(graph, axis)?, x)?;
        return Ok(split(graph, x, axis, &op.outputs));
    }
    if code(B::UNPACK) {
        let axis = src.builtin_options_as_unpack_options().map(|o| o.axis()).unwrap_or(0);
        let x = op.inputs[0];
        let axis = axis_of(graph, axis, x)?;
        let mut ops = Vec::new();
        for (ix, &y) in op.outputs.iter().enumerate() {
            let mut shape = graph.tensor(y).shape.clone();
            shape.insert(axis, 1);
            let kept = graph.add_shaped(y, "kept_axis", shape.clone());
            ops.push(slice(graph, x, axis, ix as i32, kept));
            ops.push(reshape::to_shape(graph, kept, y));
        }
        return Ok(ops);
    }
    if code(B::PACK) {
        let y = op.outputs[0];
        let axis = src.builtin_options_as_pack_options().map(|o| o.axis()).unwrap_or(0);
        let axis = axis_of(graph, axis, y)?;
        let mut ops = Vec::new();
        let mut parts = Vec::new();
        for (ix, &x) in op.inputs.iter().enumerate() {
            let mut shape = graph.tensor(x).shape.clone();
            shape.insert(axis, 1);
            let part = graph.add_shaped(y, &format!("part{ix}"), shape);
            ops.push(reshape::to_shape(graph, x, part));
            parts.push(part);
        }
        ops.push(Op::new(B::CONCATENATION, parts, vec![y], Options::Concatenation { axis: axis as i32 }));
        return Ok(ops);
    }
    if code(B::TILE) {
        let [x, multiples] = op.inputs[..] else { return invalid(&op, "takes 2 inputs") };
        let Some(multiples) = constant_i32(graph, multiples) else {
            return unsupported("TILE with multiples computed at run time");
        };
        let y = op.outputs[0];
        let mut shape = graph.tensor(x).shape.clone();
        if multiples.len() != shape.len() || multiples.iter().any(|&m| m < 1) {
            return invalid(&op, "needs one positive multiple per axis");
        }
        let mut ops = Vec::new();
        let mut current = x;
        let last = multiples.iter().rposition(|&m| m > 1);
        for (axis, &m) in multiples.iter().enumerate().filter(|(_, &m)| m > 1) {
            shape[axis] *= m;
            let out = if Some(axis) == last { y } else { graph.add_shaped(y, &format!("tiled{axis}"), shape.clone()) };
            ops.push(Op::new(
                B::CONCATENATION,
                vec![current; m as usize],
                vec![out],
                Options::Concatenation { axis: axis as i32 },
            ));
            current = out;
        }
        if last.is_none() {
            ops.push(reshape::to_shape(graph, x, y));
        }
        return Ok(ops);
    }
    if code(B::GATHER) {
        let [params, indices] = op.inputs[..] else { return invalid(&op, "takes 2 inputs") };
        let options = src.builtin_options_as_gather_options();
        if options.map(|o| o.batch_dims()).unwrap_or(0) != 0 {
            return unsupported("GATHER with batch_dims");
        }
        let axis = axis_of(graph, options.map(|o| o.axis()).unwrap_or(0), params)?;
        let Some(indices) = constant_indices(graph, indices) else {
            return unsupported("GATHER with indices computed at run time");
        };
        if indices.is_empty() || indices.len() > MAX_GATHERED {
            return unsupported(&format!("GATHER of {} indices (1 to {MAX_GATHERED} are supported)", indices.len()));
        }
        let dim = graph.tensor(params).shape[axis];
        let y = op.outputs[0];
        let mut picked_shape = graph.tensor(params).shape.clone();
        picked_shape[axis] = 1;
        let mut ops = Vec::new();
        let mut parts = Vec::new();
        for (ix, &index) in indices.iter().enumerate() {
            if !(0..dim).contains(&index) {
                return invalid(&op, &format!("index {index} is out of range for a dim of {dim}"));
            }
            let part = graph.add_shaped(y, &format!("index{ix}"), picked_shape.clone());
            ops.push(slice(graph, params, axis, index, part));
            parts.push(part);
        }
        picked_shape[axis] = indices.len() as i32;
        let gathered = graph.add_shaped(y, "gathered", picked_shape);
        ops.push(Op::new(B::CONCATENATION, parts, vec![gathered], Options::Concatenation { axis: axis as i32 }));
        ops.push(reshape::to_shape(graph, gathered, y));
        return Ok(ops);
    }
    Ok(vec![op])
}

fn invalid<T>(op: &Op, what: &str) -> Result<T, TfliteError> {
    Err(TfliteError::Invalid(format!("{} {what}", op.kind.name())))
}

fn unsupported<T>(what: &str) -> Result<T, TfliteError> {
    Err(TfliteError::Unsupported(what.to_string()))
}

fn scalar(graph: &Graph, tensor: i32) -> Result<i32, TfliteError> {
    match constant_i32(graph, tensor).as_deref() {
        Some([value]) => Ok(*value),
        _ => unsupported("a split axis computed at run time"),
    }
}

/// i32 or i64 constant indices.
fn constant_indices(graph: &Graph, tensor: i32) -> Option<Vec<i32>> {
    if graph.tensor(tensor).dtype == TensorType::INT64 {
        let data = graph.constant(tensor)?;
        return data.chunks_exact(8).map(|c| i32::try_from(i64::from_le_bytes(c.try_into().ok()?)).ok()).collect();
    }
    constant_i32(graph, tensor)
}

/// A possibly negative axis of `tensor`, checked.
fn axis_of(graph: &Graph, axis: i32, tensor: i32) -> Result<usize, TfliteError> {
    let rank = graph.tensor(tensor).shape.len() as i32;
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Err(TfliteError::Invalid(format!("axis {axis} of a rank {rank} tensor")));
    }
    Ok(axis as usize)
}

/// Each output takes the next `output.shape[axis]` entries of `x` along `axis`.
fn split<'a>(graph: &mut Graph<'a>, x: i32, axis: usize, outputs: &[i32]) -> Vec<Op<'a>> {
    let mut offset = 0;
    let mut ops = Vec::new();
    for &y in outputs {
        ops.push(slice(graph, x, axis, offset, y));
        offset += graph.tensor(y).shape.get(axis).copied().unwrap_or(1);
    }
    ops
}

/// SLICE of `x` into `y`'s shape, starting at `start` along `axis` and at 0 elsewhere.
fn slice<'a>(graph: &mut Graph<'a>, x: i32, axis: usize, start: i32, y: i32) -> Op<'a> {
    let size = graph.tensor(y).shape.clone();
    let mut begin = vec![0; size.len()];
    begin[axis] = start;
    let name = graph.tensor(y).name.clone();
    let rank = vec![size.len() as i32];
    let begin = graph.add_constant(format!("{name}.begin"), rank.clone(), TensorType::INT32, i32_bytes(&begin));
    let size = graph.add_constant(format!("{name}.size"), rank, TensorType::INT32, i32_bytes(&size));
    Op::new(B::SLICE, vec![x, begin, size], vec![y], Options::None)
}
