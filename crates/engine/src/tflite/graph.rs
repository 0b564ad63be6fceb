//! An owned, checked copy of a TFLite model's main subgraph, which the rewrites edit.
//!
//! tract-tflite indexes the flatbuffer with `unwrap()` and `[]` in many places, so every
//! index and length it will follow is checked here first: a malformed file becomes a typed
//! error instead of a panic.

use std::borrow::Cow;

use tract_tflite::tflite::{self, BuiltinOperator, TensorType};

use super::TfliteError;

/// What an operator computes: a builtin code, or the name of a custom op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OpKind {
    Builtin(BuiltinOperator),
    Custom(String),
}

impl OpKind {
    pub(super) fn name(&self) -> String {
        match self {
            Self::Builtin(code) => {
                code.variant_name().map(str::to_string).unwrap_or_else(|| format!("BUILTIN_{}", code.0))
            }
            Self::Custom(name) => format!("custom op {name:?}"),
        }
    }
}

/// Per-tensor or per-axis affine quantization: `real = scale * (q - zero_point)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub axis: i32,
}

/// One level of a sparse constant's traversal: all `0..n`, or the CSR indices present.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SparseLevel {
    Dense(i32),
    Csr { segments: Vec<u32>, indices: Vec<u32> },
}

/// How a sparse constant's values are laid out (TFLite's SparsityParameters).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sparsity {
    pub traversal_order: Vec<i32>,
    pub block_map: Vec<i32>,
    pub levels: Vec<SparseLevel>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct TensorDef {
    pub name: String,
    pub shape: Vec<i32>,
    pub dtype: TensorType,
    /// Index into [`Graph::buffers`]; 0 (the empty sentinel) for computed tensors.
    pub buffer: u32,
    pub quantization: Option<Quantization>,
    /// Set on sparse constants, whose buffer holds only the stored values.
    pub sparsity: Option<Sparsity>,
}

/// The options an operator is written with.
#[derive(Debug, Clone, Copy)]
pub(super) enum Options<'a> {
    /// The source operator's own options, re-encoded field by field.
    Source(tflite::Operator<'a>),
    /// No options table.
    None,
    /// ADD/SUB/MUL/DIV created by a rewrite: no fused activation.
    Arithmetic,
    /// STRIDED_SLICE created by a rewrite.
    StridedSlice { begin_mask: i32, end_mask: i32 },
    /// CONCATENATION created by a rewrite.
    Concatenation { axis: i32 },
    /// A stride-1, VALID CONV_2D created by a rewrite.
    Convolution { activation: tflite::ActivationFunctionType },
    /// A reduction (SUM, REDUCE_MAX, …) created by a rewrite.
    Reducer { keep_dims: bool },
}

#[derive(Debug, Clone)]
pub(super) struct Op<'a> {
    pub kind: OpKind,
    pub version: i32,
    /// Tensor indices; -1 marks an omitted optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options: Options<'a>,
    /// Set when a rewrite moved the fused activation out into its own operator.
    pub clear_fused_activation: bool,
}

impl<'a> Op<'a> {
    pub(super) fn new(code: BuiltinOperator, inputs: Vec<i32>, outputs: Vec<i32>, options: Options<'a>) -> Self {
        Self { kind: OpKind::Builtin(code), version: 1, inputs, outputs, options, clear_fused_activation: false }
    }

    pub(super) fn is(&self, code: BuiltinOperator) -> bool {
        self.kind == OpKind::Builtin(code)
    }
}

/// The main subgraph with the model-level tables it refers to.
#[derive(Debug, Clone)]
pub(super) struct Graph<'a> {
    pub version: u32,
    /// Index 0 is the empty sentinel buffer.
    pub buffers: Vec<Cow<'a, [u8]>>,
    pub tensors: Vec<TensorDef>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub ops: Vec<Op<'a>>,
}

fn invalid(message: impl Into<String>) -> TfliteError {
    TfliteError::Invalid(message.into())
}

impl<'a> Graph<'a> {
    /// Verifies the flatbuffer and copies out its main subgraph.
    pub(super) fn read(bytes: &'a [u8]) -> Result<Self, TfliteError> {
        let model = tflite::root_as_model(bytes).map_err(|e| invalid(format!("the flatbuffer is malformed: {e}")))?;
        let buffers: Vec<Cow<'a, [u8]>> = match model.buffers() {
            Some(list) => list.iter().map(|b| Cow::Borrowed(b.data().map(|d| d.bytes()).unwrap_or(&[]))).collect(),
            None => vec![],
        };
        let subgraphs = model.subgraphs().ok_or_else(|| invalid("the model has no subgraphs"))?;
        if subgraphs.is_empty() {
            return Err(invalid("the model has no subgraphs"));
        }
        let main = subgraphs.get(0);
        let flat_tensors = main.tensors().ok_or_else(|| invalid("the main subgraph has no tensors"))?;
        let mut tensors = Vec::with_capacity(flat_tensors.len());
        for (ix, t) in flat_tensors.iter().enumerate() {
            if t.buffer() as usize >= buffers.len().max(1) {
                return Err(invalid(format!("tensor {ix} refers to buffer {}, which does not exist", t.buffer())));
            }
            let shape: Vec<i32> = t.shape().map(|s| s.iter().collect()).unwrap_or_default();
            if let Some(d) = shape.iter().find(|&&d| d < 0) {
                return Err(invalid(format!("tensor {ix} has a negative dim {d}")));
            }
            tensors.push(TensorDef {
                name: t.name().map(str::to_string).unwrap_or_else(|| format!("tensor_{ix}")),
                shape,
                dtype: t.type_(),
                buffer: t.buffer(),
                quantization: t.quantization().and_then(read_quantization),
                sparsity: t.sparsity().map(read_sparsity).transpose()?,
            });
        }
        let index_list = |list: Option<flatbuffers::Vector<'a, i32>>, what: &str, optional: bool| {
            let list: Vec<i32> = list.map(|l| l.iter().collect()).unwrap_or_default();
            for &ix in &list {
                let in_range = ix >= 0 && (ix as usize) < tensors.len();
                if !(in_range || (optional && ix == -1)) {
                    return Err(invalid(format!("{what} refers to tensor {ix}, which does not exist")));
                }
            }
            Ok(list)
        };
        let opcodes = model.operator_codes().ok_or_else(|| invalid("the model has no operator codes"))?;
        let mut ops = Vec::new();
        for (ix, op) in main.operators().into_iter().flatten().enumerate() {
            let index = op.opcode_index() as usize;
            if index >= opcodes.len() {
                return Err(invalid(format!("operator {ix} uses opcode {index}, which does not exist")));
            }
            let code = opcodes.get(index);
            let kind = match code.custom_code() {
                Some(name) if builtin_code(&code) == BuiltinOperator::CUSTOM => OpKind::Custom(name.to_string()),
                _ => OpKind::Builtin(builtin_code(&code)),
            };
            let outputs = index_list(op.outputs(), &format!("operator {ix}"), false)?;
            if outputs.is_empty() {
                return Err(invalid(format!("operator {ix} has no outputs")));
            }
            ops.push(Op {
                kind,
                version: code.version(),
                inputs: index_list(op.inputs(), &format!("operator {ix}"), true)?,
                outputs,
                options: Options::Source(op),
                clear_fused_activation: false,
            });
        }
        let inputs = index_list(main.inputs(), "the model's input list", false)?;
        let outputs = index_list(main.outputs(), "the model's output list", false)?;
        let mut buffers = buffers;
        if buffers.is_empty() {
            buffers.push(Cow::Borrowed(&[]));
        }
        Ok(Self { version: model.version(), buffers, tensors, inputs, outputs, ops })
    }

    /// The constant data of a tensor, if it has any.
    pub(super) fn constant(&self, tensor: i32) -> Option<&[u8]> {
        let def = self.tensors.get(usize::try_from(tensor).ok()?)?;
        let data = self.buffers.get(def.buffer as usize)?;
        (def.buffer != 0 && !data.is_empty()).then_some(&data[..])
    }

    pub(super) fn tensor(&self, index: i32) -> &TensorDef {
        &self.tensors[index as usize]
    }

    /// Adds a tensor and returns its index.
    pub(super) fn add_tensor(&mut self, def: TensorDef) -> i32 {
        self.tensors.push(def);
        (self.tensors.len() - 1) as i32
    }

    /// Adds a constant tensor holding `data` (little-endian, as TFLite stores it).
    pub(super) fn add_constant(&mut self, name: String, shape: Vec<i32>, dtype: TensorType, data: Vec<u8>) -> i32 {
        self.buffers.push(Cow::Owned(data));
        let buffer = (self.buffers.len() - 1) as u32;
        self.add_tensor(TensorDef { name, shape, dtype, buffer, quantization: None, sparsity: None })
    }

    /// Adds a computed tensor of `like`'s type with another shape, named after `like`.
    pub(super) fn add_shaped(&mut self, like: i32, suffix: &str, shape: Vec<i32>) -> i32 {
        let t = self.add_intermediate(like, suffix);
        self.tensors[t as usize].shape = shape;
        t
    }

    /// Adds a computed float tensor shaped like `like`, named after it.
    pub(super) fn add_intermediate(&mut self, like: i32, suffix: &str) -> i32 {
        let base = self.tensor(like).clone();
        self.add_tensor(TensorDef { name: format!("{}.{suffix}", base.name), buffer: 0, quantization: None, ..base })
    }
}

/// Quantization tables with no scale or no zero point (what TF >= 2.x writes for every float
/// tensor) carry no information; tract-tflite would index into them and panic.
fn read_quantization(q: tflite::QuantizationParameters) -> Option<Quantization> {
    let scale: Vec<f32> = q.scale()?.iter().collect();
    let zero_point: Vec<i64> = q.zero_point()?.iter().collect();
    if scale.is_empty() || zero_point.is_empty() {
        return None;
    }
    Some(Quantization { scale, zero_point, axis: q.quantized_dimension() })
}

fn read_sparsity(s: tflite::SparsityParameters) -> Result<Sparsity, TfliteError> {
    let levels = s
        .dim_metadata()
        .into_iter()
        .flatten()
        .map(|d| {
            if d.format() == tflite::DimensionType::DENSE {
                return Ok(SparseLevel::Dense(d.dense_size()));
            }
            let segments = index_vector(
                d.array_segments_as_int_32_vector().and_then(|v| v.values()),
                d.array_segments_as_uint_16_vector().and_then(|v| v.values()),
                d.array_segments_as_uint_8_vector().and_then(|v| v.values()),
            );
            let indices = index_vector(
                d.array_indices_as_int_32_vector().and_then(|v| v.values()),
                d.array_indices_as_uint_16_vector().and_then(|v| v.values()),
                d.array_indices_as_uint_8_vector().and_then(|v| v.values()),
            );
            match (segments, indices) {
                (Some(segments), Some(indices)) => Ok(SparseLevel::Csr { segments, indices }),
                _ => Err(invalid("a sparse level has no segments or indices")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sparsity {
        traversal_order: s.traversal_order().map(|v| v.iter().collect()).unwrap_or_default(),
        block_map: s.block_map().map(|v| v.iter().collect()).unwrap_or_default(),
        levels,
    })
}

/// CSR segments and indices come as int32, uint16 or uint8 vectors.
fn index_vector(
    i32s: Option<flatbuffers::Vector<i32>>,
    u16s: Option<flatbuffers::Vector<u16>>,
    u8s: Option<flatbuffers::Vector<u8>>,
) -> Option<Vec<u32>> {
    if let Some(v) = i32s {
        return v.iter().map(|x| u32::try_from(x).ok()).collect();
    }
    u16s.map(|v| v.iter().map(u32::from).collect()).or_else(|| u8s.map(|v| v.iter().map(u32::from).collect()))
}

/// Opcodes past 127 are stored in `builtin_code`; older files only fill the deprecated byte.
fn builtin_code(code: &tflite::OperatorCode) -> BuiltinOperator {
    let deprecated = code.deprecated_builtin_code() as i32;
    if deprecated == BuiltinOperator::PLACEHOLDER_FOR_GREATER_OP_CODES.0 {
        code.builtin_code()
    } else {
        BuiltinOperator(deprecated.max(code.builtin_code().0))
    }
}
