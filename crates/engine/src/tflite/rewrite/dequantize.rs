//! DEQUANTIZE of a constant (fp16 weights, int8 weights) becomes a float32 constant.
//!
//! Converters store fp16 weights as FLOAT16 buffers behind a DEQUANTIZE op, which
//! tract-tflite lacks; folding it at load time is what the LiteRT interpreter does too.

use std::borrow::Cow;

use tract_onnx::prelude::f16;
use tract_tflite::tflite::{BuiltinOperator, TensorType};

use super::f32_bytes;
use crate::tflite::graph::Graph;
use crate::tflite::TfliteError;

pub(super) fn fold_constants(graph: &mut Graph) -> Result<(), TfliteError> {
    let ops = std::mem::take(&mut graph.ops);
    let mut kept = Vec::with_capacity(ops.len());
    for op in ops {
        let foldable =
            op.is(BuiltinOperator::DEQUANTIZE) && op.inputs.len() == 1 && graph.constant(op.inputs[0]).is_some();
        if !foldable {
            kept.push(op);
            continue;
        }
        let values = dequantized(graph, op.inputs[0])?;
        let output = op.outputs[0];
        let expected: usize = graph.tensor(output).shape.iter().map(|&d| d as usize).product();
        if values.len() != expected {
            return Err(TfliteError::Invalid(format!(
                "DEQUANTIZE into {:?} yields {} values for shape {:?}",
                graph.tensor(output).name,
                values.len(),
                graph.tensor(output).shape
            )));
        }
        graph.buffers.push(Cow::Owned(f32_bytes(&values)));
        let buffer = (graph.buffers.len() - 1) as u32;
        let def = &mut graph.tensors[output as usize];
        def.buffer = buffer;
        def.dtype = TensorType::FLOAT32;
        def.quantization = None;
    }
    graph.ops = kept;
    Ok(())
}

pub(super) fn dequantized(graph: &Graph, tensor: i32) -> Result<Vec<f32>, TfliteError> {
    let def = graph.tensor(tensor);
    let data = graph.constant(tensor).unwrap_or(&[]);
    let raw: Vec<f32> = match def.dtype {
        TensorType::FLOAT16 => data.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        TensorType::INT8 => data.iter().map(|&b| b as i8 as f32).collect(),
        TensorType::UINT8 => data.iter().map(|&b| b as f32).collect(),
        TensorType::INT16 => data.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as f32).collect(),
        TensorType::INT32 => {
            data.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32).collect()
        }
        other => {
            return Err(TfliteError::Unsupported(format!(
                "DEQUANTIZE of a {} constant",
                other.variant_name().unwrap_or("?")
            )))
        }
    };
    if def.dtype == TensorType::FLOAT16 {
        return Ok(raw);
    }
    let q = def.quantization.as_ref().ok_or_else(|| {
        TfliteError::Invalid(format!("DEQUANTIZE input {:?} has no quantization parameters", def.name))
    })?;
    // Per-axis parameters vary along `axis`; per-tensor ones have a single entry.
    let axis = q.axis.max(0) as usize;
    let inner: usize = def.shape.iter().skip(axis + 1).map(|&d| d as usize).product();
    let channels = def.shape.get(axis).copied().unwrap_or(1).max(1) as usize;
    let params_len = q.scale.len().min(q.zero_point.len());
    if params_len != 1 && params_len != channels {
        return Err(TfliteError::Invalid(format!(
            "tensor {:?} has {} quantization scales for {} channels",
            def.name, params_len, channels
        )));
    }
    Ok(raw
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = if params_len == 1 { 0 } else { (i / inner.max(1)) % channels };
            (v - q.zero_point[c] as f32) * q.scale[c]
        })
        .collect())
}
