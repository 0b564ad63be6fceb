//! What tract-tflite can load once the rewrites have run, checked before it is asked to.

use std::collections::{BTreeSet, HashSet};

use tract_tflite::tflite::BuiltinOperator as B;

use super::graph::{Graph, OpKind};
use super::TfliteError;

/// The builtin operators tract-tflite 0.23.9 registers a loader for.
pub(super) const LOADED_BY_TRACT: &[B] = &[
    B::ABS,
    B::ADD,
    B::AVERAGE_POOL_2D,
    B::BATCH_MATMUL,
    B::BROADCAST_TO,
    B::CEIL,
    B::CONCATENATION,
    B::CONV_2D,
    B::COS,
    B::DEPTHWISE_CONV_2D,
    B::DIV,
    B::EQUAL,
    B::EXP,
    B::EXPAND_DIMS,
    B::FLOOR,
    B::FULLY_CONNECTED,
    B::GREATER,
    B::GREATER_EQUAL,
    B::HARD_SWISH,
    B::LEAKY_RELU,
    B::LESS,
    B::LESS_EQUAL,
    B::LOG,
    B::LOGICAL_AND,
    B::LOGICAL_NOT,
    B::LOGICAL_OR,
    B::LOGISTIC,
    B::MAXIMUM,
    B::MAX_POOL_2D,
    B::MEAN,
    B::MINIMUM,
    B::MUL,
    B::NOT_EQUAL,
    B::PAD,
    B::PADV2,
    B::REDUCE_MAX,
    B::REDUCE_MIN,
    B::REDUCE_PROD,
    B::RELU,
    B::RELU6,
    B::RESHAPE,
    B::RESIZE_BILINEAR,
    B::RESIZE_NEAREST_NEIGHBOR,
    B::RSQRT,
    B::SELECT,
    B::SELECT_V2,
    B::SHAPE,
    B::SIN,
    B::SLICE,
    B::SOFTMAX,
    B::SQRT,
    B::SQUARE,
    B::SQUEEZE,
    B::STRIDED_SLICE,
    B::SUB,
    B::SUM,
    B::TANH,
    B::TRANSPOSE,
];

/// Fails with the full list of operators that remain unsupported, and with the first tensor
/// that tract-tflite would look up without finding it.
pub(super) fn check(graph: &Graph) -> Result<(), TfliteError> {
    let unsupported: BTreeSet<String> = graph
        .ops
        .iter()
        .filter(|op| match &op.kind {
            OpKind::Builtin(code) => !LOADED_BY_TRACT.contains(code),
            OpKind::Custom(_) => true,
        })
        .map(|op| op.kind.name())
        .collect();
    if !unsupported.is_empty() {
        return Err(TfliteError::UnsupportedOps(unsupported.into_iter().collect()));
    }
    let mut available: HashSet<i32> = graph.inputs.iter().copied().collect();
    for op in &graph.ops {
        super::options::check_spatial(op)?;
        for &input in &op.inputs {
            if input < 0 {
                return Err(TfliteError::Unsupported(format!(
                    "operator {} has an omitted optional input, which is not supported for this operator",
                    op.kind.name()
                )));
            }
            if !available.contains(&input) && graph.constant(input).is_none() {
                return Err(TfliteError::Invalid(format!(
                    "tensor {:?} is read by {} before any operator computes it",
                    graph.tensor(input).name,
                    op.kind.name()
                )));
            }
        }
        available.extend(op.outputs.iter().copied());
    }
    if let Some(&missing) = graph.outputs.iter().find(|o| !available.contains(o)) {
        return Err(TfliteError::Unsupported(format!(
            "model output {:?} is not computed by any operator",
            graph.tensor(missing).name
        )));
    }
    Ok(())
}
