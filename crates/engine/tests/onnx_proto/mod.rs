//! Small ONNX graphs built in the tests themselves, with tract-onnx's own protobuf types: for
//! shapes no exporter at hand writes (open dims spelled every way, an If on a setting, a
//! hostile model), without a committed binary.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use prost::Message;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
use tract_onnx::pb::tensor_shape_proto::Dimension;
use tract_onnx::pb::type_proto::{Tensor as TensorType, Value as Type};
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

pub const FLOAT: i32 = 1;
pub const INT64: i32 = 7;

/// A tensor value of `elem_type` with these dims (`None`: a blank dim).
pub fn value_info(name: &str, elem_type: i32, dims: Vec<Option<Dim>>) -> ValueInfoProto {
    let dim = dims.into_iter().map(|value| Dimension { value, ..Default::default() }).collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(Type::TensorType(TensorType { elem_type, shape: Some(TensorShapeProto { dim }) })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Concrete dims.
pub fn fixed(dims: &[i64]) -> Vec<Option<Dim>> {
    dims.iter().map(|&d| Some(Dim::DimValue(d))).collect()
}

pub fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

pub fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i: value, ..Default::default() }
}

pub fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

pub fn graph_attribute(name: &str, graph: GraphProto) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Graph as i32, g: Some(graph), ..Default::default() }
}

/// The model file's bytes: `graph` at ONNX opset 13.
pub fn model(graph: GraphProto) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}
