//! TRANSPOSE_CONV as a stride-1 CONV_2D over the input with zeros inserted between its
//! pixels, padded so the result has the declared output shape, with the kernel flipped
//! spatially: the textbook identity, in ops tract-tflite loads (RESHAPE, CONCATENATION, PAD,
//! SLICE, CONV_2D).
//!
//! MediaPipe's custom `Convolution2DTransposeBias` is the same operator with its bias (its
//! segmentation models use it): its options are TFLite's `TfLiteTransposeConvParams` as raw
//! bytes (padding, stride width, stride height, little-endian int32s), its inputs the input,
//! the weights and the bias.

use tract_tflite::tflite::{ActivationFunctionType, BuiltinOperator as B, Padding, TensorType};

use super::{f32_bytes, i32_bytes, reshape};
use crate::tflite::graph::{Graph, Op, OpKind, Options};
use crate::tflite::TfliteError;

/// The custom operator rewritten here, and when.
pub(super) const MEDIAPIPE_OP: (&str, &str) =
    ("Convolution2DTransposeBias", "MediaPipe's transposed convolution with bias: as TRANSPOSE_CONV");

/// A transposed convolution, from either spelling.
struct TransposeConv {
    weights: i32,
    x: i32,
    /// -1 when there is none.
    bias: i32,
    y: i32,
    padding: Padding,
    stride_h: i32,
    stride_w: i32,
    activation: ActivationFunctionType,
}

fn unsupported<T>(why: &str) -> Result<T, TfliteError> {
    Err(TfliteError::Unsupported(format!("TRANSPOSE_CONV {why}")))
}

fn from_builtin(op: &Op) -> Result<TransposeConv, TfliteError> {
    let Options::Source(src) = op.options else { return unsupported("without options") };
    let Some(o) = src.builtin_options_as_transpose_conv_options() else { return unsupported("without options") };
    let (weights, x) = match op.inputs[..] {
        [_, w, x] | [_, w, x, _] => (w, x),
        _ => return unsupported("with other than 3 or 4 inputs"),
    };
    Ok(TransposeConv {
        weights,
        x,
        bias: op.inputs.get(3).copied().unwrap_or(-1),
        y: op.outputs[0],
        padding: o.padding(),
        stride_h: o.stride_h(),
        stride_w: o.stride_w(),
        activation: o.fused_activation_function(),
    })
}

fn from_mediapipe(op: &Op) -> Result<TransposeConv, TfliteError> {
    let invalid = |why: &str| Err(TfliteError::Invalid(format!("{} {why}", MEDIAPIPE_OP.0)));
    let Options::Source(src) = op.options else { return invalid("without options") };
    let Some(raw) = src.custom_options() else { return invalid("without options") };
    let raw = raw.bytes();
    let field = |i: usize| raw.get(4 * i..4 * i + 4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let (Some(padding), Some(stride_w), Some(stride_h)) = (field(0), field(1), field(2)) else {
        return invalid("with options shorter than padding and strides");
    };
    let padding = match padding {
        1 => Padding::SAME,
        2 => Padding::VALID,
        _ => return invalid("with a padding that is neither SAME nor VALID"),
    };
    let [x, weights, bias] = op.inputs[..] else { return invalid("with other than 3 inputs") };
    Ok(TransposeConv {
        weights,
        x,
        bias,
        y: op.outputs[0],
        padding,
        stride_h,
        stride_w,
        activation: ActivationFunctionType::NONE,
    })
}

pub(super) fn expand<'a>(graph: &mut Graph<'a>, op: Op<'a>) -> Result<Vec<Op<'a>>, TfliteError> {
    let conv = match &op.kind {
        OpKind::Builtin(B::TRANSPOSE_CONV) => from_builtin(&op)?,
        OpKind::Custom(name) if name == MEDIAPIPE_OP.0 => from_mediapipe(&op)?,
        _ => return Ok(vec![op]),
    };
    build(graph, conv)
}

fn build<'a>(graph: &mut Graph<'a>, conv: TransposeConv) -> Result<Vec<Op<'a>>, TfliteError> {
    let TransposeConv { weights, x, bias, y, padding, stride_h: sh, stride_w: sw, activation } = conv;
    if !matches!(
        activation,
        ActivationFunctionType::NONE | ActivationFunctionType::RELU | ActivationFunctionType::RELU6
    ) {
        return unsupported("with a fused activation other than RELU or RELU6");
    }
    let (Some(kernel), &[n, h, w, c], &[_, out_h, out_w, _]) =
        (graph.constant(weights).map(<[u8]>::to_vec), &graph.tensor(x).shape[..], &graph.tensor(y).shape[..])
    else {
        return unsupported("needs constant weights and rank-4 input and output");
    };
    if graph.tensor(weights).dtype != TensorType::FLOAT32 || graph.tensor(x).dtype != TensorType::FLOAT32 {
        return unsupported("on non-float tensors");
    }
    let [o_ch, kh, kw, i_ch] = graph.tensor(weights).shape[..] else { return unsupported("needs a rank-4 kernel") };
    if i_ch != c
        || !(1..=64).contains(&sh)
        || !(1..=64).contains(&sw)
        || kernel.len() != (o_ch * kh * kw * i_ch * 4) as usize
    {
        return Err(TfliteError::Invalid("TRANSPOSE_CONV kernel, strides and input disagree".into()));
    }
    // Padding as TFLite computes it, from the forward convolution output -> input.
    let pad_before = |out: i32, k: i32, s: i32| match padding {
        Padding::SAME => (((out + s - 1) / s - 1) * s + k - out).max(0) / 2,
        _ => 0,
    };
    let (top, left) = (pad_before(out_h, kh, sh), pad_before(out_w, kw, sw));
    // The zero-stuffed input is h * s tall: (h - 1) * s + 1 values and s - 1 trailing zeros.
    let (pt, pl) = (kh - 1 - top, kw - 1 - left);
    let (pb, pr) = (out_h + kh - 1 - h * sh - pt, out_w + kw - 1 - w * sw - pl);
    if pt < 0 || pl < 0 {
        return unsupported("whose padding crops more than a kernel");
    }

    let name = graph.tensor(y).name.clone();
    let mut ops = Vec::new();
    let mut current = x;
    let mut shape = vec![n, h, 1, w, 1, c];
    let expanded = graph.add_shaped(y, "expanded", shape.clone());
    ops.push(reshape::to_shape(graph, current, expanded));
    current = expanded;
    for (axis, stride) in [(2usize, sh), (4, sw)] {
        if stride == 1 {
            continue;
        }
        let mut zeros_shape = shape.clone();
        zeros_shape[axis] = stride - 1;
        let count = zeros_shape.iter().product::<i32>() as usize;
        let zeros =
            graph.add_constant(format!("{name}.zeros{axis}"), zeros_shape, TensorType::FLOAT32, vec![0; count * 4]);
        shape[axis] = stride;
        let stuffed = graph.add_shaped(y, &format!("stuffed{axis}"), shape.clone());
        ops.push(Op::new(
            B::CONCATENATION,
            vec![current, zeros],
            vec![stuffed],
            Options::Concatenation { axis: axis as i32 },
        ));
        current = stuffed;
    }
    let dilated = graph.add_shaped(y, "dilated", vec![n, h * sh, w * sw, c]);
    ops.push(reshape::to_shape(graph, current, dilated));
    current = dilated;

    // Pad (or crop the trailing zeros) to the size a VALID convolution turns into the output.
    let padded_shape = vec![n, out_h + kh - 1, out_w + kw - 1, c];
    let padded = graph.add_shaped(y, "padded", vec![n, h * sh + pt + pb.max(0), w * sw + pl + pr.max(0), c]);
    let pads = graph.add_constant(
        format!("{name}.pads"),
        vec![4, 2],
        TensorType::INT32,
        i32_bytes(&[0, 0, pt, pb.max(0), pl, pr.max(0), 0, 0]),
    );
    ops.push(Op::new(B::PAD, vec![current, pads], vec![padded], Options::None));
    current = padded;
    if pb < 0 || pr < 0 {
        let cropped = graph.add_shaped(y, "cropped", padded_shape.clone());
        let rank = vec![4];
        let begin =
            graph.add_constant(format!("{name}.crop_begin"), rank.clone(), TensorType::INT32, i32_bytes(&[0; 4]));
        let size = graph.add_constant(format!("{name}.crop_size"), rank, TensorType::INT32, i32_bytes(&padded_shape));
        ops.push(Op::new(B::SLICE, vec![current, begin, size], vec![cropped], Options::None));
        current = cropped;
    }

    let flipped = flip_spatially(&kernel, [o_ch, kh, kw, i_ch]);
    let flipped = graph.add_constant(
        format!("{name}.flipped_kernel"),
        vec![o_ch, kh, kw, i_ch],
        TensorType::FLOAT32,
        f32_bytes(&flipped),
    );
    ops.push(Op::new(B::CONV_2D, vec![current, flipped, bias], vec![y], Options::Convolution { activation }));
    Ok(ops)
}

/// `[o, ky, kx, i]` -> `[o, kh - 1 - ky, kw - 1 - kx, i]`, from little-endian f32 bytes.
fn flip_spatially(bytes: &[u8], [o, kh, kw, i]: [i32; 4]) -> Vec<f32> {
    let values: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let (kh, kw, i) = (kh as usize, kw as usize, i as usize);
    let mut flipped = vec![0.0; values.len()];
    for oc in 0..o as usize {
        for ky in 0..kh {
            for kx in 0..kw {
                let from = ((oc * kh + ky) * kw + kx) * i;
                let to = ((oc * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)) * i;
                flipped[to..to + i].copy_from_slice(&values[from..from + i]);
            }
        }
    }
    flipped
}
