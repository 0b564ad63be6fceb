//! Serializes a rewritten [`Graph`] back into a single-subgraph TFLite flatbuffer.

use flatbuffers::FlatBufferBuilder;
use tract_tflite::tflite::*;

use super::graph::{Graph, OpKind};
use super::{options, TfliteError};

pub(super) fn write(graph: &Graph) -> Result<Vec<u8>, TfliteError> {
    let mut fbb = FlatBufferBuilder::with_capacity(graph.buffers.iter().map(|b| b.len()).sum::<usize>() + 4096);

    let mut kinds: Vec<(OpKind, i32)> = Vec::new();
    let mut operators = Vec::with_capacity(graph.ops.len());
    for op in &graph.ops {
        let key = (op.kind.clone(), op.version);
        let opcode_index = match kinds.iter().position(|k| *k == key) {
            Some(ix) => ix,
            None => {
                kinds.push(key);
                kinds.len() - 1
            }
        };
        let (builtin_options_type, builtin_options) = options::encode(&mut fbb, op)?;
        let inputs = Some(fbb.create_vector(&op.inputs));
        let outputs = Some(fbb.create_vector(&op.outputs));
        operators.push(Operator::create(
            &mut fbb,
            &OperatorArgs {
                opcode_index: opcode_index as u32,
                inputs,
                outputs,
                builtin_options_type,
                builtin_options,
                ..Default::default()
            },
        ));
    }

    let tensors: Vec<_> = graph
        .tensors
        .iter()
        .map(|t| {
            let quantization = t.quantization.as_ref().map(|q| {
                let scale = Some(fbb.create_vector(&q.scale));
                let zero_point = Some(fbb.create_vector(&q.zero_point));
                QuantizationParameters::create(
                    &mut fbb,
                    &QuantizationParametersArgs {
                        scale,
                        zero_point,
                        quantized_dimension: q.axis,
                        ..Default::default()
                    },
                )
            });
            let shape = Some(fbb.create_vector(&t.shape));
            let name = Some(fbb.create_string(&t.name));
            Tensor::create(
                &mut fbb,
                &TensorArgs { shape, type_: t.dtype, buffer: t.buffer, name, quantization, ..Default::default() },
            )
        })
        .collect();

    let subgraph = {
        let tensors = Some(fbb.create_vector(&tensors));
        let inputs = Some(fbb.create_vector(&graph.inputs));
        let outputs = Some(fbb.create_vector(&graph.outputs));
        let operators = Some(fbb.create_vector(&operators));
        SubGraph::create(&mut fbb, &SubGraphArgs { tensors, inputs, outputs, operators, name: None })
    };

    let operator_codes: Vec<_> = kinds
        .iter()
        .map(|(kind, version)| {
            let (code, custom_code) = match kind {
                OpKind::Builtin(code) => (*code, None),
                OpKind::Custom(name) => (BuiltinOperator::CUSTOM, Some(fbb.create_string(name))),
            };
            OperatorCode::create(
                &mut fbb,
                &OperatorCodeArgs {
                    // Readers take the deprecated byte unless it holds the "see builtin_code" marker.
                    deprecated_builtin_code: code.0.min(BuiltinOperator::PLACEHOLDER_FOR_GREATER_OP_CODES.0) as i8,
                    custom_code,
                    version: *version,
                    builtin_code: code,
                },
            )
        })
        .collect();

    let buffers: Vec<_> = graph
        .buffers
        .iter()
        .map(|data| {
            // tract copies constants out of the buffer, so their alignment does not matter.
            let data = (!data.is_empty()).then(|| fbb.create_vector(data));
            Buffer::create(&mut fbb, &BufferArgs { data })
        })
        .collect();

    let model = {
        let operator_codes = Some(fbb.create_vector(&operator_codes));
        let subgraphs = Some(fbb.create_vector(&[subgraph]));
        let buffers = Some(fbb.create_vector(&buffers));
        Model::create(
            &mut fbb,
            &ModelArgs { version: graph.version, operator_codes, subgraphs, buffers, ..Default::default() },
        )
    };
    finish_model_buffer(&mut fbb, model);
    Ok(fbb.finished_data().to_vec())
}
