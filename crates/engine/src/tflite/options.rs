//! Re-encodes operator options into a new flatbuffer.
//!
//! Only the option tables tract-tflite reads are re-encoded: an operator tract-tflite loads
//! without looking at its options is written without them.

use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};
use tract_tflite::tflite::*;

use super::graph::{Op, OpKind, Options};
use super::TfliteError;

type Encoded = (BuiltinOptions, Option<WIPOffset<UnionWIPOffset>>);

pub(super) fn encode(fbb: &mut FlatBufferBuilder, op: &Op) -> Result<Encoded, TfliteError> {
    let none = (BuiltinOptions::NONE, None);
    let code = match op.kind {
        OpKind::Builtin(code) => code,
        OpKind::Custom(_) => return Ok(none),
    };
    match op.options {
        Options::None => Ok(none),
        Options::Arithmetic => Ok(arithmetic(fbb, code, ActivationFunctionType::NONE)),
        Options::StridedSlice { begin_mask, end_mask } => {
            let args = StridedSliceOptionsArgs { begin_mask, end_mask, ..Default::default() };
            Ok((BuiltinOptions::StridedSliceOptions, Some(StridedSliceOptions::create(fbb, &args).as_union_value())))
        }
        Options::Concatenation { axis } => {
            let args = ConcatenationOptionsArgs { axis, fused_activation_function: ActivationFunctionType::NONE };
            Ok((BuiltinOptions::ConcatenationOptions, Some(ConcatenationOptions::create(fbb, &args).as_union_value())))
        }
        Options::Convolution { activation } => {
            let args = Conv2DOptionsArgs {
                padding: Padding::VALID,
                stride_w: 1,
                stride_h: 1,
                fused_activation_function: activation,
                dilation_w_factor: 1,
                dilation_h_factor: 1,
            };
            Ok((BuiltinOptions::Conv2DOptions, Some(Conv2DOptions::create(fbb, &args).as_union_value())))
        }
        Options::Reducer { keep_dims } => {
            let args = ReducerOptionsArgs { keep_dims };
            Ok((BuiltinOptions::ReducerOptions, Some(ReducerOptions::create(fbb, &args).as_union_value())))
        }
        Options::Source(src) => copy(fbb, code, &src, op.clear_fused_activation),
    }
}

fn arithmetic(fbb: &mut FlatBufferBuilder, code: BuiltinOperator, act: ActivationFunctionType) -> Encoded {
    let f = act;
    match code {
        BuiltinOperator::ADD => (
            BuiltinOptions::AddOptions,
            Some(
                AddOptions::create(fbb, &AddOptionsArgs { fused_activation_function: f, ..Default::default() })
                    .as_union_value(),
            ),
        ),
        BuiltinOperator::SUB => (
            BuiltinOptions::SubOptions,
            Some(
                SubOptions::create(fbb, &SubOptionsArgs { fused_activation_function: f, ..Default::default() })
                    .as_union_value(),
            ),
        ),
        BuiltinOperator::MUL => (
            BuiltinOptions::MulOptions,
            Some(MulOptions::create(fbb, &MulOptionsArgs { fused_activation_function: f }).as_union_value()),
        ),
        BuiltinOperator::DIV => (
            BuiltinOptions::DivOptions,
            Some(DivOptions::create(fbb, &DivOptionsArgs { fused_activation_function: f }).as_union_value()),
        ),
        _ => (BuiltinOptions::NONE, None),
    }
}

/// Copies the options tract-tflite reads for `code`, field by field.
fn copy(
    fbb: &mut FlatBufferBuilder,
    code: BuiltinOperator,
    src: &Operator,
    clear: bool,
) -> Result<Encoded, TfliteError> {
    let act = |a: ActivationFunctionType| if clear { ActivationFunctionType::NONE } else { a };
    let missing = || {
        TfliteError::Invalid(format!(
            "operator {} carries options of type {:?}, not the ones it needs",
            code.variant_name().unwrap_or("?"),
            src.builtin_options_type()
        ))
    };
    macro_rules! table {
        ($variant:ident, $table:ident, $value:expr) => {
            (BuiltinOptions::$variant, Some($table::create(fbb, &$value).as_union_value()))
        };
    }
    Ok(match code {
        BuiltinOperator::CONV_2D => {
            let o = src.builtin_options_as_conv_2_doptions().ok_or_else(missing)?;
            table!(
                Conv2DOptions,
                Conv2DOptions,
                Conv2DOptionsArgs {
                    padding: o.padding(),
                    stride_w: o.stride_w(),
                    stride_h: o.stride_h(),
                    fused_activation_function: act(o.fused_activation_function()),
                    dilation_w_factor: o.dilation_w_factor(),
                    dilation_h_factor: o.dilation_h_factor(),
                }
            )
        }
        BuiltinOperator::DEPTHWISE_CONV_2D => {
            let o = src.builtin_options_as_depthwise_conv_2_doptions().ok_or_else(missing)?;
            table!(
                DepthwiseConv2DOptions,
                DepthwiseConv2DOptions,
                DepthwiseConv2DOptionsArgs {
                    padding: o.padding(),
                    stride_w: o.stride_w(),
                    stride_h: o.stride_h(),
                    depth_multiplier: o.depth_multiplier(),
                    fused_activation_function: act(o.fused_activation_function()),
                    dilation_w_factor: o.dilation_w_factor(),
                    dilation_h_factor: o.dilation_h_factor(),
                }
            )
        }
        BuiltinOperator::AVERAGE_POOL_2D | BuiltinOperator::MAX_POOL_2D => {
            let o = src.builtin_options_as_pool_2_doptions().ok_or_else(missing)?;
            table!(
                Pool2DOptions,
                Pool2DOptions,
                Pool2DOptionsArgs {
                    padding: o.padding(),
                    stride_w: o.stride_w(),
                    stride_h: o.stride_h(),
                    filter_width: o.filter_width(),
                    filter_height: o.filter_height(),
                    fused_activation_function: act(o.fused_activation_function()),
                }
            )
        }
        BuiltinOperator::FULLY_CONNECTED => {
            let o = src.builtin_options_as_fully_connected_options().ok_or_else(missing)?;
            table!(
                FullyConnectedOptions,
                FullyConnectedOptions,
                FullyConnectedOptionsArgs {
                    fused_activation_function: act(o.fused_activation_function()),
                    weights_format: o.weights_format(),
                    keep_num_dims: o.keep_num_dims(),
                    asymmetric_quantize_inputs: o.asymmetric_quantize_inputs(),
                }
            )
        }
        BuiltinOperator::CONCATENATION => {
            let o = src.builtin_options_as_concatenation_options().ok_or_else(missing)?;
            table!(
                ConcatenationOptions,
                ConcatenationOptions,
                ConcatenationOptionsArgs {
                    axis: o.axis(),
                    fused_activation_function: act(o.fused_activation_function()),
                }
            )
        }
        BuiltinOperator::ADD | BuiltinOperator::SUB | BuiltinOperator::MUL | BuiltinOperator::DIV => {
            let f = match code {
                BuiltinOperator::ADD => src.builtin_options_as_add_options().map(|o| o.fused_activation_function()),
                BuiltinOperator::SUB => src.builtin_options_as_sub_options().map(|o| o.fused_activation_function()),
                BuiltinOperator::MUL => src.builtin_options_as_mul_options().map(|o| o.fused_activation_function()),
                _ => src.builtin_options_as_div_options().map(|o| o.fused_activation_function()),
            };
            // Converters omit the table when there is no fused activation.
            arithmetic(fbb, code, act(f.unwrap_or(ActivationFunctionType::NONE)))
        }
        BuiltinOperator::SOFTMAX => {
            let o = src.builtin_options_as_softmax_options().ok_or_else(missing)?;
            table!(SoftmaxOptions, SoftmaxOptions, SoftmaxOptionsArgs { beta: o.beta() })
        }
        BuiltinOperator::LEAKY_RELU => {
            let o = src.builtin_options_as_leaky_relu_options().ok_or_else(missing)?;
            table!(LeakyReluOptions, LeakyReluOptions, LeakyReluOptionsArgs { alpha: o.alpha() })
        }
        BuiltinOperator::MEAN
        | BuiltinOperator::SUM
        | BuiltinOperator::REDUCE_MAX
        | BuiltinOperator::REDUCE_MIN
        | BuiltinOperator::REDUCE_PROD => {
            let keep_dims = src.builtin_options_as_reducer_options().map(|o| o.keep_dims()).unwrap_or(false);
            table!(ReducerOptions, ReducerOptions, ReducerOptionsArgs { keep_dims })
        }
        BuiltinOperator::RESIZE_BILINEAR => {
            let o = src.builtin_options_as_resize_bilinear_options().ok_or_else(missing)?;
            table!(
                ResizeBilinearOptions,
                ResizeBilinearOptions,
                ResizeBilinearOptionsArgs {
                    align_corners: o.align_corners(),
                    half_pixel_centers: o.half_pixel_centers(),
                }
            )
        }
        BuiltinOperator::RESIZE_NEAREST_NEIGHBOR => {
            let o = src.builtin_options_as_resize_nearest_neighbor_options().ok_or_else(missing)?;
            table!(
                ResizeNearestNeighborOptions,
                ResizeNearestNeighborOptions,
                ResizeNearestNeighborOptionsArgs {
                    align_corners: o.align_corners(),
                    half_pixel_centers: o.half_pixel_centers(),
                }
            )
        }
        BuiltinOperator::BATCH_MATMUL => {
            let o = src.builtin_options_as_batch_mat_mul_options().ok_or_else(missing)?;
            table!(
                BatchMatMulOptions,
                BatchMatMulOptions,
                BatchMatMulOptionsArgs {
                    adj_x: o.adj_x(),
                    adj_y: o.adj_y(),
                    asymmetric_quantize_inputs: o.asymmetric_quantize_inputs(),
                }
            )
        }
        BuiltinOperator::STRIDED_SLICE => {
            let o = src.builtin_options_as_strided_slice_options().ok_or_else(missing)?;
            table!(
                StridedSliceOptions,
                StridedSliceOptions,
                StridedSliceOptionsArgs {
                    begin_mask: o.begin_mask(),
                    end_mask: o.end_mask(),
                    ellipsis_mask: o.ellipsis_mask(),
                    new_axis_mask: o.new_axis_mask(),
                    shrink_axis_mask: o.shrink_axis_mask(),
                }
            )
        }
        BuiltinOperator::RESHAPE => match src.builtin_options_as_reshape_options().and_then(|o| o.new_shape()) {
            Some(shape) => {
                let new_shape = Some(fbb.create_vector(&shape.iter().collect::<Vec<i32>>()));
                table!(ReshapeOptions, ReshapeOptions, ReshapeOptionsArgs { new_shape })
            }
            None => (BuiltinOptions::NONE, None),
        },
        BuiltinOperator::SQUEEZE => {
            let dims = src.builtin_options_as_squeeze_options().and_then(|o| o.squeeze_dims());
            let squeeze_dims =
                Some(fbb.create_vector(&dims.map(|d| d.iter().collect::<Vec<i32>>()).unwrap_or_default()));
            table!(SqueezeOptions, SqueezeOptions, SqueezeOptionsArgs { squeeze_dims })
        }
        _ => (BuiltinOptions::NONE, None),
    })
}

/// The fused activation an operator read from a file applies to its output.
pub(super) fn fused_activation(op: &Op) -> ActivationFunctionType {
    let (OpKind::Builtin(code), Options::Source(src)) = (&op.kind, op.options) else {
        return ActivationFunctionType::NONE;
    };
    let act = match *code {
        BuiltinOperator::CONV_2D => src.builtin_options_as_conv_2_doptions().map(|o| o.fused_activation_function()),
        BuiltinOperator::DEPTHWISE_CONV_2D => {
            src.builtin_options_as_depthwise_conv_2_doptions().map(|o| o.fused_activation_function())
        }
        BuiltinOperator::AVERAGE_POOL_2D | BuiltinOperator::MAX_POOL_2D => {
            src.builtin_options_as_pool_2_doptions().map(|o| o.fused_activation_function())
        }
        BuiltinOperator::FULLY_CONNECTED => {
            src.builtin_options_as_fully_connected_options().map(|o| o.fused_activation_function())
        }
        BuiltinOperator::CONCATENATION => {
            src.builtin_options_as_concatenation_options().map(|o| o.fused_activation_function())
        }
        BuiltinOperator::ADD => src.builtin_options_as_add_options().map(|o| o.fused_activation_function()),
        BuiltinOperator::SUB => src.builtin_options_as_sub_options().map(|o| o.fused_activation_function()),
        BuiltinOperator::MUL => src.builtin_options_as_mul_options().map(|o| o.fused_activation_function()),
        BuiltinOperator::DIV => src.builtin_options_as_div_options().map(|o| o.fused_activation_function()),
        _ => None,
    };
    act.unwrap_or(ActivationFunctionType::NONE)
}

/// Strides, dilations, window sizes and padding of convolutions and pools, which tract uses
/// in shape arithmetic (and whose unknown padding kinds it does not handle).
pub(super) fn check_spatial(op: &Op) -> Result<(), TfliteError> {
    let (OpKind::Builtin(code), Options::Source(src)) = (&op.kind, op.options) else { return Ok(()) };
    let (padding, values) = match *code {
        BuiltinOperator::CONV_2D => match src.builtin_options_as_conv_2_doptions() {
            Some(o) => (o.padding(), vec![o.stride_w(), o.stride_h(), o.dilation_w_factor(), o.dilation_h_factor()]),
            None => return Ok(()),
        },
        BuiltinOperator::DEPTHWISE_CONV_2D => match src.builtin_options_as_depthwise_conv_2_doptions() {
            Some(o) => (
                o.padding(),
                vec![o.stride_w(), o.stride_h(), o.dilation_w_factor(), o.dilation_h_factor(), o.depth_multiplier()],
            ),
            None => return Ok(()),
        },
        BuiltinOperator::AVERAGE_POOL_2D | BuiltinOperator::MAX_POOL_2D => {
            match src.builtin_options_as_pool_2_doptions() {
                Some(o) => (o.padding(), vec![o.stride_w(), o.stride_h(), o.filter_width(), o.filter_height()]),
                None => return Ok(()),
            }
        }
        _ => return Ok(()),
    };
    if !matches!(padding, Padding::SAME | Padding::VALID) || values.iter().any(|v| !(1..=1 << 16).contains(v)) {
        return Err(TfliteError::Invalid(format!(
            "{} has padding {:?} and strides/dilations/window {values:?}, which are out of range",
            code.variant_name().unwrap_or("?"),
            padding
        )));
    }
    Ok(())
}
