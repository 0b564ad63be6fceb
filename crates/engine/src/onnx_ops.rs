//! What an ONNX model asks of the engine, read from its protobuf before tract builds anything:
//! the operators it uses (subgraphs included) and which of them tract cannot run.
//!
//! tract turns an unknown operator into a placeholder and fails later with an error about
//! shapes or types; checking up front gives the user the list of operators to remove.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tract_onnx::pb::{GraphProto, ModelProto, ValueInfoProto};
use tract_onnx::prelude::Framework;
use tract_onnx::Onnx;

use crate::error::chain;
use crate::{EngineError, TensorInfo};

/// The operators of a model and the ones this engine lacks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpReport {
    /// Operator name (prefixed by its domain outside the default one) and how often it occurs.
    pub histogram: BTreeMap<String, usize>,
    /// Operators tract 0.23 has no implementation for, sorted.
    pub unsupported: Vec<String>,
}

/// Operators tract lacks that users commonly meet, with what to do instead.
fn advice(op: &str) -> Option<&'static str> {
    match op {
        "Loop" => Some(
            "tract 0.23 has no Loop: export with a fixed number of iterations (unrolled) or move the loop to Python",
        ),
        op if op.starts_with("Sequence") || op == "SplitToSequence" || op == "ConcatFromSequence" => {
            Some("tract 0.23 has no Sequence ops: export tensors instead of sequences")
        }
        "ZipMap" => Some("ZipMap: convert with skl2onnx option {'zipmap': False} so probabilities are a tensor"),
        "Scaler" => Some("Scaler: fold the scaling into the model as Sub/Mul, or scale the input before inference"),
        _ => None,
    }
}

fn qualified(domain: &str, op: &str) -> String {
    match domain {
        "" | "ai.onnx" => op.to_string(),
        domain => format!("{domain}.{op}"),
    }
}

fn visit(graph: &GraphProto, known: &dyn Fn(&str) -> bool, report: &mut OpReport) {
    for node in &graph.node {
        *report.histogram.entry(qualified(&node.domain, &node.op_type)).or_default() += 1;
        if !known(&node.op_type) {
            report.unsupported.push(qualified(&node.domain, &node.op_type));
        }
        for attribute in &node.attribute {
            attribute.g.iter().chain(&attribute.graphs).for_each(|g| visit(g, known, report));
        }
    }
}

/// Decodes the protobuf; tract's own decoder, so what passes here is what tract will read.
pub(crate) fn parse(onnx: &Onnx, bytes: &[u8]) -> Result<ModelProto, EngineError> {
    onnx.proto_model_for_read(&mut &bytes[..]).map_err(|e| EngineError::ModelInvalid(chain(&e)))
}

/// Lists every operator of the model, subgraphs included.
pub(crate) fn scan(proto: &ModelProto, known: &dyn Fn(&str) -> bool) -> OpReport {
    let mut report = OpReport { histogram: BTreeMap::new(), unsupported: Vec::new() };
    if let Some(graph) = &proto.graph {
        visit(graph, known, &mut report);
    }
    report.unsupported.sort();
    report.unsupported.dedup();
    report
}

impl OpReport {
    /// Fails, naming every unsupported operator, when the model cannot run.
    pub(crate) fn require_supported(&self) -> Result<(), EngineError> {
        if self.unsupported.is_empty() {
            return Ok(());
        }
        let mut hints: Vec<&str> = self.unsupported.iter().filter_map(|op| advice(bare(op))).collect();
        hints.dedup();
        Err(EngineError::UnsupportedOps {
            ops: self.unsupported.clone(),
            hint: if hints.is_empty() { String::new() } else { format!(". {}", hints.join(". ")) },
        })
    }
}

/// The operator name without its domain prefix.
fn bare(op: &str) -> &str {
    op.rsplit('.').next().unwrap_or(op)
}

/// Weights in a separate file cannot be resolved from a byte buffer (nor in the browser).
pub(crate) fn require_embedded_weights(proto: &ModelProto) -> Result<(), EngineError> {
    const EXTERNAL: i32 = 1;
    let graph = proto.graph.as_ref().ok_or_else(|| EngineError::ModelInvalid("the model has no graph".into()))?;
    if let Some(t) = graph.initializer.iter().find(|t| t.data_location == Some(EXTERNAL)) {
        return Err(EngineError::unsupported(format!(
            "weight {:?} is stored in an external data file; save the model as one file \
             (onnx.save_model(model, path, save_as_external_data=False))",
            t.name
        )));
    }
    Ok(())
}

/// Makes every input dim the model leaves open a symbol that tract binds to the actual input's
/// size at run time. Exporters write an open dim in many ways: blank (skl2onnx's batch),
/// `-1` (Paddle), `?`, `unk__12` (tf2onnx), or a name that is no expression
/// (`p2o.DynamicDimension.0`). tract leaves all of these unknown, and cannot type a graph
/// whose inputs have unknown dims ("Source node without a determined fact").
///
/// A name keeps its identity: inputs sharing `p2o.DynamicDimension.0` share one symbol, and
/// the graph's outputs and inner shape annotations that use it are renamed alike, so they
/// agree with the inputs. Other open dims there are left blank for tract to infer.
pub(crate) fn name_open_dims(proto: &mut ModelProto) {
    use tract_onnx::pb::tensor_shape_proto::dimension::Value;
    let Some(graph) = &mut proto.graph else { return };
    let initializers: std::collections::HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let mut renamed: HashMap<String, String> = HashMap::new();
    for input in graph.input.iter_mut().filter(|i| !initializers.contains(&i.name)) {
        let prefix = symbol_safe(&input.name);
        for (axis, dim) in dims_mut(input).enumerate() {
            let symbol = match &dim.value {
                Some(Value::DimValue(v)) if *v >= 0 => continue,
                Some(Value::DimParam(p)) if is_expression(p) => continue,
                Some(Value::DimParam(p)) if !is_anonymous(p) => {
                    renamed.entry(p.clone()).or_insert_with(|| format!("d_{}", symbol_safe(p))).clone()
                }
                _ => format!("{prefix}_dim{axis}"),
            };
            dim.value = Some(Value::DimParam(symbol));
        }
    }
    for value in graph.output.iter_mut().chain(graph.value_info.iter_mut()) {
        for dim in dims_mut(value) {
            match &dim.value {
                Some(Value::DimParam(p)) if !is_expression(p) => {
                    dim.value = renamed.get(p).map(|s| Value::DimParam(s.clone()));
                }
                Some(Value::DimValue(v)) if *v < 0 => dim.value = None,
                _ => {}
            }
        }
    }
}

/// ONNX allows two nodes of one name (exporters write `F0::anon` for every inlined constant);
/// tract names its nodes after them and refuses a duplicate. The second and later ones get a
/// `#n` suffix. Node names label nothing a request or a result uses: inputs and outputs are
/// named by their values.
pub(crate) fn unique_node_names(proto: &mut ModelProto) {
    let Some(graph) = &mut proto.graph else { return };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let taken: std::collections::HashSet<String> = graph.node.iter().map(|n| n.name.clone()).collect();
    for node in graph.node.iter_mut().filter(|n| !n.name.is_empty()) {
        let count = seen.entry(node.name.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            let mut suffix = *count;
            while taken.contains(&format!("{}#{suffix}", node.name)) {
                suffix += 1;
            }
            node.name = format!("{}#{suffix}", node.name);
        }
    }
}

fn dims_mut(value: &mut ValueInfoProto) -> impl Iterator<Item = &mut tract_onnx::pb::tensor_shape_proto::Dimension> {
    use tract_onnx::pb::type_proto::Value as Type;
    let shape = match value.r#type.as_mut().and_then(|t| t.value.as_mut()) {
        Some(Type::TensorType(tensor)) => tensor.shape.as_mut(),
        _ => None,
    };
    shape.into_iter().flat_map(|s| s.dim.iter_mut())
}

/// A dim name tract parses as a shape expression of symbols (`N`, `batch*2`), which it binds.
fn is_expression(param: &str) -> bool {
    !is_anonymous(param)
        && param.chars().any(|c| c.is_ascii_alphabetic())
        && param.chars().all(|c| c.is_ascii_alphanumeric() || "_+-*/() ".contains(c))
        && param.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '(')
}

/// Names that stand for "unknown" rather than for a dim of their own.
fn is_anonymous(param: &str) -> bool {
    param.is_empty() || param == "?" || param.starts_with("unk__")
}

fn symbol_safe(name: &str) -> String {
    let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if safe.starts_with(|c: char| c.is_ascii_alphabetic()) {
        safe
    } else {
        format!("x{safe}")
    }
}

/// The declared inputs (initializers excluded) and outputs, read from the protobuf alone,
/// so that `inspect` can describe a model that tract cannot load.
pub(crate) fn declared_io(proto: &ModelProto) -> (Vec<TensorInfo>, Vec<TensorInfo>) {
    let Some(graph) = &proto.graph else { return (vec![], vec![]) };
    let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs = graph.input.iter().filter(|i| !initializers.contains(&i.name.as_str())).map(describe).collect();
    (inputs, graph.output.iter().map(describe).collect())
}

fn describe(value: &ValueInfoProto) -> TensorInfo {
    use tract_onnx::pb::tensor_shape_proto::dimension::Value;
    use tract_onnx::pb::type_proto::Value as Type;
    let tensor = value.r#type.as_ref().and_then(|t| match &t.value {
        Some(Type::TensorType(tensor)) => Some(tensor),
        _ => None,
    });
    let shape = tensor
        .and_then(|t| t.shape.as_ref())
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(Value::DimValue(v)) => v.to_string(),
                    Some(Value::DimParam(p)) => p.clone(),
                    None => "?".to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let dtype = tensor.map(|t| elem_type_name(t.elem_type)).unwrap_or("unknown").to_string();
    TensorInfo { name: value.name.clone(), shape, dtype }
}

/// ONNX `TensorProto.DataType` codes, spelled as ONNX tools print them.
fn elem_type_name(code: i32) -> &'static str {
    match code {
        1 => "float32",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "float64",
        12 => "uint32",
        13 => "uint64",
        16 => "bfloat16",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{AttributeProto, NodeProto};

    fn node(op: &str, domain: &str) -> NodeProto {
        NodeProto { op_type: op.into(), domain: domain.into(), ..Default::default() }
    }

    #[test]
    fn walks_subgraphs_and_names_domains() {
        let body = GraphProto { node: vec![node("Loop", ""), node("Add", "")], ..Default::default() };
        let mut with_branch = node("If", "");
        with_branch.attribute.push(AttributeProto { g: Some(body), ..Default::default() });
        let graph = GraphProto { node: vec![with_branch, node("ZipMap", "ai.onnx.ml")], ..Default::default() };
        let proto = ModelProto { graph: Some(graph), ..Default::default() };
        let report = scan(&proto, &|op| op == "If" || op == "Add");
        assert_eq!(report.histogram.len(), 4);
        assert_eq!(report.histogram["ai.onnx.ml.ZipMap"], 1);
        assert_eq!(report.unsupported, vec!["Loop", "ai.onnx.ml.ZipMap"]);
        let err = report.require_supported().unwrap_err();
        assert_eq!(err.code(), "unsupported_ops");
        let message = err.to_string();
        assert!(message.contains("Loop, ai.onnx.ml.ZipMap") && message.contains("zipmap"), "{message}");
    }
}
