//! `If` nodes whose condition the request fixes, folded into the branch it takes.
//!
//! tract 0.23.9 types both branches of an `If` and requires their outputs to agree. Exporters
//! write `If`s whose branches differ for a reason: one branch is valid only for the shapes or the
//! setting the other rules out (Silero VAD: a sample rate input picks 8 or 16 kHz weights; a
//! squeeze taken only when a dim is 1). With the input's shapes and its settings (rank-0 inputs,
//! such as a sample rate) known at plan time, such a condition is a constant: it is computed on
//! its own, and the `If` is replaced by the nodes of the branch taken.
//!
//! A condition is folded only when it depends on nothing but constants, settings and the
//! *shapes* of other inputs (every path from a data input passes a `Shape` or `Size`), so the
//! plan it gives is right for every input of those shapes and settings; a condition on the
//! input's values is left to tract.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, ValueInfoProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{ensure, TractErrorContext};

/// Folds every foldable `If` of the main graph, nested ones too, for inputs of these shapes
/// and dtypes, with `settings` holding the value of each rank-0 input by name.
pub(crate) fn fold(
    onnx: &tract_onnx::Onnx,
    proto: &mut ModelProto,
    facts: &HashMap<String, (DatumType, Vec<usize>)>,
    settings: &HashMap<String, Tensor>,
) -> TractResult<()> {
    // Each pass folds the first foldable If; the branch it inlines may hold more.
    while let Some((ix, taken)) = first_foldable(onnx, proto, facts, settings)? {
        let graph = proto.graph.as_mut().expect("a graph");
        let node = graph.node.remove(ix);
        let branch = node
            .attribute
            .iter()
            .find(|a| a.name == if taken { "then_branch" } else { "else_branch" })
            .and_then(|a| a.g.clone())
            .context("an If without its branch")?;
        let mut inlined = branch.node;
        // The branch's results under the If's own output names.
        for (from, to) in branch.output.iter().zip(&node.output) {
            inlined.push(NodeProto {
                op_type: "Identity".into(),
                name: format!("{}#folded:{}", node.name, to),
                input: vec![from.name.clone()],
                output: vec![to.clone()],
                ..Default::default()
            });
        }
        graph.initializer.extend(branch.initializer);
        graph.node.splice(ix..ix, inlined);
    }
    Ok(())
}

/// The first `If` whose condition is fixed by shapes and settings, and the branch it takes.
fn first_foldable(
    onnx: &tract_onnx::Onnx,
    proto: &ModelProto,
    facts: &HashMap<String, (DatumType, Vec<usize>)>,
    settings: &HashMap<String, Tensor>,
) -> TractResult<Option<(usize, bool)>> {
    let graph = proto.graph.as_ref().context("no graph")?;
    for (ix, node) in graph.node.iter().enumerate() {
        if node.op_type != "If" || !node.domain.is_empty() {
            continue;
        }
        let Some(cond) = node.input.first() else { continue };
        let Some(needed) = shape_only_ancestry(graph, cond, settings) else { continue };
        return Ok(Some((ix, evaluate(onnx, proto, &needed, cond, facts, settings)?)));
    }
    Ok(None)
}

/// The nodes and inputs a value is computed from, when it depends on the data inputs only
/// through their shapes; `None` when a data input's values reach it, or another `If` (folded
/// first, in order) stands in the way.
struct Ancestry {
    nodes: HashSet<usize>,
    inputs: HashSet<String>,
}

fn shape_only_ancestry(graph: &GraphProto, value: &str, settings: &HashMap<String, Tensor>) -> Option<Ancestry> {
    let producer: HashMap<&str, usize> =
        graph.node.iter().enumerate().flat_map(|(ix, n)| n.output.iter().map(move |o| (o.as_str(), ix))).collect();
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    let mut found = Ancestry { nodes: HashSet::new(), inputs: HashSet::new() };
    let mut stack = vec![(value.to_string(), false)];
    let mut seen = HashSet::new();
    while let Some((name, through_shape)) = stack.pop() {
        if name.is_empty() || !seen.insert((name.clone(), through_shape)) || initializers.contains(name.as_str()) {
            continue;
        }
        if let Some(&ix) = producer.get(name.as_str()) {
            let node = &graph.node[ix];
            if node.op_type == "If" || node.op_type == "Loop" || node.op_type == "Scan" {
                return None;
            }
            found.nodes.insert(ix);
            let shape_of = node.op_type == "Shape" || node.op_type == "Size";
            stack.extend(node.input.iter().map(|i| (i.clone(), through_shape || shape_of)));
        } else if inputs.contains(name.as_str()) {
            if !through_shape && !settings.contains_key(&name) {
                return None;
            }
            found.inputs.insert(name);
        } else {
            return None; // a name from an enclosing scope, or nowhere
        }
    }
    Some(found)
}

/// Computes the condition from its ancestry alone: settings at their values, every other input
/// as zeros of its shape (only its shape can reach the condition).
fn evaluate(
    onnx: &tract_onnx::Onnx,
    proto: &ModelProto,
    needed: &Ancestry,
    cond: &str,
    facts: &HashMap<String, (DatumType, Vec<usize>)>,
    settings: &HashMap<String, Tensor>,
) -> TractResult<bool> {
    let graph = proto.graph.as_ref().context("no graph")?;
    let inputs: Vec<ValueInfoProto> = graph.input.iter().filter(|i| needed.inputs.contains(&i.name)).cloned().collect();
    let nodes: Vec<NodeProto> =
        graph.node.iter().enumerate().filter(|(ix, _)| needed.nodes.contains(ix)).map(|(_, n)| n.clone()).collect();
    // Only the weights the condition's nodes read: the model's others can be hundreds of MB.
    let read: HashSet<&str> = nodes.iter().flat_map(|n| n.input.iter().map(String::as_str)).collect();
    let initializer = graph.initializer.iter().filter(|t| read.contains(t.name.as_str())).cloned().collect();
    let sub = ModelProto {
        graph: Some(GraphProto {
            name: "condition".into(),
            node: nodes,
            initializer,
            input: inputs.clone(),
            output: vec![ValueInfoProto { name: cond.to_string(), ..Default::default() }],
            ..Default::default()
        }),
        ir_version: proto.ir_version,
        opset_import: proto.opset_import.clone(),
        functions: proto.functions.clone(),
        ..Default::default()
    };
    let mut model = onnx.model_for_proto_model(&sub)?;
    let mut values = tvec![];
    for (ix, input) in inputs.iter().enumerate() {
        let value = match settings.get(&input.name) {
            Some(value) => value.clone(),
            None => {
                let (dt, shape) =
                    facts.get(&input.name).with_context(|| format!("no shape for input {:?}", input.name))?;
                Tensor::zero_dt(*dt, shape)?
            }
        };
        model.set_input_fact(ix, InferenceFact::dt_shape(value.datum_type(), value.shape()))?;
        values.push(value.into_tvalue());
    }
    let outputs = model.into_optimized()?.into_runnable()?.run(values)?;
    ensure!(outputs[0].len() == 1, "an If condition of {} values", outputs[0].len());
    outputs[0].cast_to_scalar::<bool>()
}
