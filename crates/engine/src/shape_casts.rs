//! Integer casts on a tensor's shape, removed so that shapes stay symbolic.
//!
//! Paddle2ONNX computes reshape targets as `Shape -> Cast(int32) -> Slice -> Cast(int64) ->
//! Concat -> Reshape`. With a concrete input, tract folds that chain into a constant; with an
//! open dim (a batch of `-1`), the chain carries a symbol, and tract's `Cast` to int32 drops it
//! ("Reshape ... shape input is variable"). A shape's values are dims: non-negative and far
//! below 2^31, so an int32 or int64 cast of them changes no value. Such casts become
//! `Identity`, and tract keeps the symbolic shape through them.

use std::collections::HashSet;

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::ModelProto;

/// Ops that carry shape values through unchanged (a part of them, or several joined).
const SHAPE_PRESERVING: &[&str] = &["Slice", "Gather", "Concat", "Squeeze", "Unsqueeze", "Identity", "Cast"];

/// Rewrites the integer casts of shape values in the main graph.
pub(crate) fn rewrite(proto: &mut ModelProto) {
    let Some(graph) = &mut proto.graph else { return };
    // Values that hold dims: Shape's outputs, and what shape-preserving ops make only from
    // them and constants. Nodes are in topological order, as ONNX requires.
    let constants: HashSet<String> = graph
        .initializer
        .iter()
        .map(|t| t.name.clone())
        .chain(graph.node.iter().filter(|n| n.op_type == "Constant").flat_map(|n| n.output.clone()))
        .collect();
    let mut dims: HashSet<String> = HashSet::new();
    for node in &mut graph.node {
        let carries_dims = match node.op_type.as_str() {
            "Shape" => true,
            op if SHAPE_PRESERVING.contains(&op) => {
                node.input.iter().any(|i| dims.contains(i))
                    && node.input.iter().all(|i| i.is_empty() || dims.contains(i) || constants.contains(i))
            }
            _ => false,
        };
        if !carries_dims {
            continue;
        }
        dims.extend(node.output.iter().cloned());
        let to_integer = node
            .attribute
            .iter()
            .find(|a| a.name == "to")
            .is_some_and(|a| a.i == DataType::Int32 as i64 || a.i == DataType::Int64 as i64);
        if node.op_type == "Cast" && to_integer {
            node.op_type = "Identity".into();
            node.attribute.clear();
        }
    }
}
