//! Quantized (int8/uint8/int16) models run in float32, with the rounding of every quantized
//! tensor simulated.
//!
//! tract-tflite 0.23.9 lacks QUANTIZE and DEQUANTIZE of activations, which every
//! full-integer model converted with float inputs starts and ends with. So quantized
//! constants are dequantized once, and each quantized activation `t` (scale `s`, zero point
//! `z`) is computed in float and then snapped to its grid:
//! `t = (clamp(floor(x / s + z + 0.5), qmin, qmax) - z) * s`,
//! which is what the integer kernels store. Results match an integer runtime up to an
//! occasional one-step rounding difference (the kernels requantize with fixed-point
//! multipliers); the golden tests state the tolerance.

use std::collections::HashMap;

use tract_tflite::tflite::{BuiltinOperator as B, TensorType};

use super::dequantize::dequantized;
use super::{f32_bytes, reshape};
use crate::tflite::graph::{Graph, Op, Options};
use crate::tflite::TfliteError;

/// The integer grid a quantized activation lives on.
#[derive(Debug, Clone, Copy)]
struct Grid {
    scale: f32,
    zero_point: f32,
    min: f32,
    max: f32,
}

fn grid(dtype: TensorType) -> Option<(f32, f32)> {
    match dtype {
        TensorType::INT8 => Some((-128.0, 127.0)),
        TensorType::UINT8 => Some((0.0, 255.0)),
        TensorType::INT16 => Some((-32768.0, 32767.0)),
        _ => None,
    }
}

pub(super) fn simulate(graph: &mut Graph) -> Result<(), TfliteError> {
    let mut grids: HashMap<i32, Grid> = HashMap::new();
    for ix in 0..graph.tensors.len() as i32 {
        let def = graph.tensor(ix);
        let Some(q) = def.quantization.clone() else { continue };
        if graph.constant(ix).is_some() {
            let values = dequantized(graph, ix)?;
            let name = graph.tensor(ix).name.clone();
            let shape = graph.tensor(ix).shape.clone();
            let folded = graph.add_constant(name, shape, TensorType::FLOAT32, f32_bytes(&values));
            let buffer = graph.tensor(folded).buffer;
            let def = &mut graph.tensors[ix as usize];
            (def.buffer, def.dtype, def.quantization) = (buffer, TensorType::FLOAT32, None);
            continue;
        }
        let Some((min, max)) = grid(def.dtype) else { continue };
        if graph.inputs.contains(&ix) {
            return Err(TfliteError::Unsupported(format!(
                "model input {:?} is quantized ({}); only models with float inputs are supported",
                def.name,
                def.dtype.variant_name().unwrap_or("?")
            )));
        }
        if q.scale.len() != 1 {
            return Err(TfliteError::Unsupported(format!("per-axis quantized activation {:?}", def.name)));
        }
        grids.insert(ix, Grid { scale: q.scale[0], zero_point: q.zero_point[0] as f32, min, max });
        let def = &mut graph.tensors[ix as usize];
        (def.dtype, def.quantization) = (TensorType::FLOAT32, None);
    }
    if grids.is_empty() {
        return Ok(());
    }
    let ops = std::mem::take(&mut graph.ops);
    let mut rewritten = Vec::with_capacity(ops.len());
    for mut op in ops {
        let y = op.outputs[0];
        if op.is(B::DEQUANTIZE) {
            // Its input is already float and on the grid: the op itself is now an identity.
            rewritten.push(reshape::to_shape(graph, op.inputs[0], y));
            continue;
        }
        let Some(&g) = grids.get(&y) else {
            rewritten.push(op);
            continue;
        };
        if op.outputs.len() != 1 {
            return Err(TfliteError::Unsupported(format!("quantized {} with several outputs", op.kind.name())));
        }
        let raw = if op.is(B::QUANTIZE) {
            op.inputs[0]
        } else {
            let raw = graph.add_intermediate(y, "unrounded");
            op.outputs[0] = raw;
            rewritten.push(op);
            raw
        };
        rewritten.extend(snap_to_grid(graph, raw, y, g));
    }
    graph.ops = rewritten;
    Ok(())
}

fn snap_to_grid<'a>(graph: &mut Graph<'a>, x: i32, y: i32, g: Grid) -> Vec<Op<'a>> {
    let name = graph.tensor(y).name.clone();
    let mut constant = |suffix: &str, value: f32| {
        graph.add_constant(format!("{name}.{suffix}"), vec![], TensorType::FLOAT32, f32_bytes(&[value]))
    };
    let inverse_scale = constant("inverse_scale", 1.0 / g.scale);
    let offset = constant("rounding_offset", g.zero_point + 0.5);
    let min = constant("qmin", g.min);
    let max = constant("qmax", g.max);
    let minus_zero_point = constant("minus_zero_point", -g.zero_point);
    let scale = constant("scale", g.scale);
    let mut chain = Vec::new();
    let mut current = x;
    let steps: [(B, Option<i32>, &str); 7] = [
        (B::MUL, Some(inverse_scale), "scaled"),
        (B::ADD, Some(offset), "shifted"),
        (B::FLOOR, None, "rounded"),
        (B::MAXIMUM, Some(min), "floored"),
        (B::MINIMUM, Some(max), "clamped"),
        (B::ADD, Some(minus_zero_point), "centered"),
        (B::MUL, Some(scale), "dequantized"),
    ];
    for (ix, (code, operand, suffix)) in steps.into_iter().enumerate() {
        let out = if ix == steps.len() - 1 { y } else { graph.add_intermediate(y, suffix) };
        let inputs = operand.map(|c| vec![current, c]).unwrap_or_else(|| vec![current]);
        let options = if matches!(code, B::MUL | B::ADD) { Options::Arithmetic } else { Options::None };
        chain.push(Op::new(code, inputs, vec![out], options));
        current = out;
    }
    chain
}
