//! Rewrites that turn what real converters write into what tract-tflite 0.23.9 loads.
//!
//! Each pass replaces operators one by one, keeping the tensor indices of everything it does
//! not touch, so the model's input and output tensors (and their names) survive.

mod activation;
mod arg_max;
mod bias;
mod densify;
mod depth_to_space;
mod dequantize;
mod mean;
mod operands;
mod prelu;
mod quantized;
mod reshape;
mod slicing;
mod strided_slice;
mod transpose_conv;

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::graph::{Graph, Op};
use super::TfliteError;

/// The builtin operators tract-tflite lacks that the passes below turn into ones it loads,
/// with the condition under which each does (outside it, loading fails with the reason).
pub(super) const REWRITTEN: &[(B, &str)] = &[
    (B::ARG_MAX, "over a constant axis; the indices come out as float32"),
    (B::ARG_MIN, "over a constant axis; the indices come out as float32"),
    (B::CAST, "only a cast to the type the tensor already has (as after ARG_MAX)"),
    (B::DENSIFY, "of a sparse constant, expanded at load"),
    (B::DEPTH_TO_SPACE, "on rank-4 tensors"),
    (B::DEQUANTIZE, "of a constant (fp16 or int8 weights, folded at load), or of a simulated quantized tensor"),
    (B::GATHER, "with constant indices (1 to 1024) and no batch_dims"),
    (B::PACK, "always"),
    (B::PRELU, "always"),
    (B::QUANTIZE, "per-tensor int8, uint8 or int16: simulated in float32 with the tensor's rounding"),
    (B::SPLIT, "over a constant axis"),
    (B::SPLIT_V, "over a constant axis"),
    (B::TILE, "with constant multiples"),
    (B::TRANSPOSE_CONV, "with constant float32 weights, rank-4 tensors, no fused activation or RELU/RELU6"),
    (B::UNPACK, "always"),
];

/// The custom operator rewritten into builtins, and when.
pub(super) const CUSTOM_REWRITTEN: (&str, &str) = transpose_conv::MEDIAPIPE_OP;

pub(super) fn rewrite(graph: &mut Graph) -> Result<(), TfliteError> {
    strip_float_quantization(graph);
    densify::fold_constants(graph)?;
    dequantize::fold_constants(graph)?;
    quantized::simulate(graph)?;
    replace_each(graph, prelu::expand)?;
    replace_each(graph, strided_slice::expand_shrink_axes)?;
    replace_each(graph, slicing::expand)?;
    replace_each(graph, arg_max::expand)?;
    replace_each(graph, depth_to_space::expand)?;
    replace_each(graph, reshape::normalize)?;
    replace_each(graph, operands::check)?;
    replace_each(graph, mean::as_scaled_sum)?;
    replace_each(graph, transpose_conv::expand)?;
    replace_each(graph, bias::add_omitted)?;
    replace_each(graph, activation::unfuse)?;
    make_names_unique(graph);
    Ok(())
}

/// tract names its nodes after the tensors they compute and refuses duplicates, which
/// converters do not rule out.
fn make_names_unique(graph: &mut Graph) {
    let mut seen = std::collections::HashSet::new();
    for t in &mut graph.tensors {
        let mut name = t.name.clone();
        let mut n = 1;
        while !seen.insert(name.clone()) {
            name = format!("{}.{n}", t.name);
            n += 1;
        }
        t.name = name;
    }
}

/// Runs `pass` on every operator; it returns the operators that replace it (often itself).
fn replace_each<'a>(
    graph: &mut Graph<'a>,
    pass: impl Fn(&mut Graph<'a>, Op<'a>) -> Result<Vec<Op<'a>>, TfliteError>,
) -> Result<(), TfliteError> {
    let ops = std::mem::take(&mut graph.ops);
    let mut replaced = Vec::with_capacity(ops.len());
    for op in ops {
        replaced.extend(pass(graph, op)?);
    }
    graph.ops = replaced;
    Ok(())
}

/// Float tensors never carry meaningful quantization; tract-tflite would still turn their
/// datum type into a quantized one.
fn strip_float_quantization(graph: &mut Graph) {
    for t in &mut graph.tensors {
        if matches!(t.dtype, TensorType::FLOAT32 | TensorType::FLOAT16 | TensorType::FLOAT64) {
            t.quantization = None;
        }
    }
}

/// Little-endian bytes of f32 values, as TFLite buffers hold them.
fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn i32_bytes(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The i32 values of a constant tensor, or `None` when it is computed or not i32.
fn constant_i32(graph: &Graph, tensor: i32) -> Option<Vec<i32>> {
    if graph.tensor(tensor).dtype != TensorType::INT32 {
        return None;
    }
    let data = graph.constant(tensor)?;
    Some(data.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}
