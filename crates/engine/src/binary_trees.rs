//! Two-class tree ensembles, rewritten so tract computes what ONNX specifies.
//!
//! For two classes, converters (skl2onnx, for forests and gradient boosting) store one score
//! per leaf, all under class id 0: the score of the second class. ONNX then defines the
//! scores as `[1 - v, v]` (or `[-v, v]` before a logistic or softmax transform), with
//! `v = base_values[0] + the leaves' sum`, and the label as the class of the best score.
//! tract 0.23.9 gets this layout wrong in two ways:
//! - its label is the argmax of the scores *before* the two-class layout, so it is almost
//!   always the first class while its probabilities are right;
//! - it refuses `base_values` of length 2, which gradient boosting writes.
//!
//! So the engine keeps tract's part to the leaves' sum (no base values, no transform) and
//! computes the rest with plain ONNX operators, as the reference implementation does.

use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

/// Rewrites every two-class tree ensemble of the main graph; other nodes are left as they are.
pub(crate) fn rewrite(proto: &mut ModelProto) {
    let Some(graph) = &mut proto.graph else { return };
    let mut ix = 0;
    while ix < graph.node.len() {
        match TwoClassTrees::of(&graph.node[ix]) {
            Some(trees) => {
                let added = trees.rewrite(graph, ix);
                ix += 1 + added;
            }
            None => ix += 1,
        }
    }
}

/// How the final scores are formed from the second class's value `v`.
#[derive(Clone, Copy)]
enum Transform {
    /// `[1 - v, v]`.
    None,
    /// `sigmoid([-v, v])`.
    Logistic,
    /// `softmax([-v, v])`.
    Softmax,
}

struct TwoClassTrees {
    labels: Vec<i64>,
    base: Option<f32>,
    transform: Transform,
}

fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

impl TwoClassTrees {
    /// The ensembles this applies to: integer labels, two of them, every leaf weight for class
    /// 0, and a transform whose two-class form is known. Anything else goes to tract as is.
    fn of(node: &NodeProto) -> Option<Self> {
        if node.op_type != "TreeEnsembleClassifier" || node.domain != "ai.onnx.ml" || node.output.len() != 2 {
            return None;
        }
        let labels = attribute(node, "classlabels_int64s")?.ints.clone();
        let class_ids = &attribute(node, "class_ids")?.ints;
        if labels.len() != 2 || class_ids.is_empty() || class_ids.iter().any(|&id| id != 0) {
            return None;
        }
        let transform = match attribute(node, "post_transform").map(|a| a.s.as_slice()) {
            None | Some(b"NONE") => Transform::None,
            Some(b"LOGISTIC") => Transform::Logistic,
            Some(b"SOFTMAX") => Transform::Softmax,
            Some(_) => return None,
        };
        // base_values_as_tensor is the double-precision form; tract reads only base_values.
        if attribute(node, "base_values_as_tensor").is_some() {
            return None;
        }
        let base = attribute(node, "base_values").and_then(|a| a.floats.first().copied());
        Some(Self { labels, base, transform })
    }

    /// Replaces the node at `ix` by itself (stripped) and the nodes that finish its job;
    /// returns how many nodes were inserted after it.
    fn rewrite(&self, graph: &mut GraphProto, ix: usize) -> usize {
        let node = &mut graph.node[ix];
        node.attribute.retain(|a| !matches!(a.name.as_str(), "base_values" | "post_transform"));
        let prefix = if node.name.is_empty() { format!("ssc_binary_trees_{ix}") } else { format!("{}.ssc", node.name) };
        let name = |part: &str| format!("{prefix}.{part}");
        let label_out = node.output[0].clone();
        let scores_out = if node.output[1].is_empty() { name("scores") } else { node.output[1].clone() };
        // tract's outputs now only feed the nodes below; its scores are `[1 - sum, sum]`.
        node.output = vec![name("tract_label"), name("tract_scores")];

        graph.initializer.push(int64s(&name("second_column"), &[1], &[1]));
        graph.initializer.push(int64s(&name("labels"), &[2], &self.labels));
        let mut nodes =
            vec![op("Gather", &[&name("tract_scores"), &name("second_column")], &name("sum"), vec![int("axis", 1)])];
        let mut v = name("sum");
        if let Some(base) = self.base {
            graph.initializer.push(float(&name("base"), base));
            nodes.push(op("Add", &[&v, &name("base")], &name("v"), vec![]));
            v = name("v");
        }
        match self.transform {
            Transform::None => {
                graph.initializer.push(float(&name("one"), 1.0));
                nodes.push(op("Sub", &[&name("one"), &v], &name("first"), vec![]));
            }
            Transform::Logistic | Transform::Softmax => nodes.push(op("Neg", &[&v], &name("first"), vec![])),
        }
        let pair = match self.transform {
            Transform::None => scores_out.clone(),
            Transform::Logistic | Transform::Softmax => name("pair"),
        };
        nodes.push(op("Concat", &[&name("first"), &v], &pair, vec![int("axis", 1)]));
        match self.transform {
            Transform::None => {}
            Transform::Logistic => nodes.push(op("Sigmoid", &[&pair], &scores_out, vec![])),
            Transform::Softmax => nodes.push(op("Softmax", &[&pair], &scores_out, vec![int("axis", 1)])),
        }
        if !label_out.is_empty() {
            let best = name("best");
            nodes.push(op("ArgMax", &[&scores_out], &best, vec![int("axis", 1), int("keepdims", 0)]));
            nodes.push(op("Gather", &[&name("labels"), &best], &label_out, vec![int("axis", 0)]));
        }
        let added = nodes.len();
        graph.node.splice(ix + 1..ix + 1, nodes);
        added
    }
}

fn op(op_type: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: output.to_string(),
        op_type: op_type.to_string(),
        input: inputs.iter().map(|i| i.to_string()).collect(),
        output: vec![output.to_string()],
        attribute,
        ..NodeProto::default()
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto { name: name.to_string(), r#type: AttributeType::Int as i32, i: value, ..AttributeProto::default() }
}

fn int64s(name: &str, dims: &[i64], values: &[i64]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.to_vec(),
        data_type: DataType::Int64 as i32,
        int64_data: values.to_vec(),
        ..TensorProto::default()
    }
}

/// A float scalar shaped `[1]`, which broadcasts against `[N, 1]`.
fn float(name: &str, value: f32) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: vec![1],
        data_type: DataType::Float as i32,
        float_data: vec![value],
        ..TensorProto::default()
    }
}
