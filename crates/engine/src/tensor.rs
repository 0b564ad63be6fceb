use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;

use crate::{EngineError, Limits};

/// An input tensor as it crosses the browser boundary: numbers in row-major order.
/// Values are converted to the model input's own dtype, and must be representable in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedTensor {
    /// The model input this feeds; `None` means the model's only input.
    #[serde(default)]
    pub name: Option<String>,
    pub shape: Vec<usize>,
    /// f64 holds every value of every dtype below exactly, except int64 past 2^53.
    pub data: Vec<f64>,
    /// The dtype the caller believes the input has (ONNX spelling, e.g. "int64"); checked
    /// against the model when given, so a caller's misunderstanding is an error, not a cast.
    #[serde(default)]
    #[schemars(extend("enum" = crate::capabilities::input_dtypes_or_null()))]
    pub dtype: Option<String>,
}

/// An output tensor as it is returned to Python.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputTensor {
    pub shape: Vec<usize>,
    #[schemars(extend("enum" = crate::capabilities::output_dtypes()))]
    pub dtype: String,
    /// Row-major values; f64 holds every integer dtype up to 2^53 and every float exactly.
    pub data: Vec<f64>,
}

impl NamedTensor {
    /// Builds the tensor in `target`, the dtype of model input `input`.
    pub(crate) fn to_tract(&self, input: &str, target: DatumType, limits: &Limits) -> Result<Tensor, EngineError> {
        let expected = limits.check_tensor(&self.shape)?;
        if expected != self.data.len() {
            return Err(EngineError::DataLength { shape: self.shape.clone(), expected, actual: self.data.len() });
        }
        check_declared_dtype(input, self.dtype.as_deref(), target)?;
        typed_tensor(input, &self.shape, &self.data, target)
    }
}

/// A caller's belief about an input's dtype (ONNX spelling), checked when given, so a
/// misunderstanding is an error rather than a silent cast.
pub(crate) fn check_declared_dtype(input: &str, declared: Option<&str>, target: DatumType) -> Result<(), EngineError> {
    match declared {
        Some(declared) if declared != dtype_name(target) => Err(EngineError::DtypeMismatch {
            input: input.to_string(),
            expected: dtype_name(target),
            actual: declared.to_string(),
        }),
        _ => Ok(()),
    }
}

/// `data` as a tensor of dtype `target`. Integers must be whole and within the type's range,
/// booleans 0 or 1: a saturating cast would feed the model other values than the caller's.
pub(crate) fn typed_tensor(
    input: &str,
    shape: &[usize],
    data: &[f64],
    target: DatumType,
) -> Result<Tensor, EngineError> {
    let out_of_range = |index: usize| EngineError::ValueOutOfRange {
        input: input.to_string(),
        dtype: dtype_name(target),
        value: data[index],
        index,
    };
    macro_rules! ints {
        ($t:ty) => {{
            let mut values = Vec::with_capacity(data.len());
            for (ix, &v) in data.iter().enumerate() {
                if v.fract() != 0.0 || v < <$t>::MIN as f64 || v > <$t>::MAX as f64 {
                    return Err(out_of_range(ix));
                }
                values.push(v as $t);
            }
            Tensor::from_shape(shape, &values)
        }};
    }
    let tensor = match target {
        DatumType::F64 => Tensor::from_shape(shape, data),
        DatumType::F32 => Tensor::from_shape(shape, &data.iter().map(|&v| v as f32).collect::<Vec<_>>()),
        DatumType::F16 => Tensor::from_shape(shape, &data.iter().map(|&v| f16::from_f64(v)).collect::<Vec<_>>()),
        DatumType::I8 => ints!(i8),
        DatumType::I16 => ints!(i16),
        DatumType::I32 => ints!(i32),
        DatumType::I64 => ints!(i64),
        DatumType::U8 => ints!(u8),
        DatumType::U16 => ints!(u16),
        DatumType::U32 => ints!(u32),
        DatumType::U64 => ints!(u64),
        DatumType::Bool => {
            let mut values = Vec::with_capacity(data.len());
            for (ix, &v) in data.iter().enumerate() {
                match v {
                    0.0 => values.push(false),
                    1.0 => values.push(true),
                    _ => return Err(out_of_range(ix)),
                }
            }
            Tensor::from_shape(shape, &values)
        }
        other => {
            return Err(EngineError::UnsupportedDtype { what: format!("input {input:?}"), dtype: dtype_name(other) })
        }
    };
    tensor.map_err(|e| EngineError::InvalidRequest(crate::error::chain(&e)))
}

impl OutputTensor {
    pub(crate) fn from_tract(name: &str, tensor: &Tensor) -> Result<Self, EngineError> {
        let unsupported = |dtype: DatumType| EngineError::UnsupportedDtype {
            what: format!("output {name:?}"),
            dtype: dtype_name(dtype),
        };
        // tract computes some integer outputs (indices, labels) as its symbolic-dim type;
        // by the time they are outputs they are plain numbers, and ONNX declares them int64.
        let integers;
        let tensor = if tensor.datum_type() == DatumType::TDim {
            integers = tensor.cast_to::<i64>().map_err(|_| unsupported(DatumType::TDim))?.into_owned();
            &integers
        } else {
            tensor
        };
        let dtype = tensor.datum_type();
        let unsupported = || unsupported(dtype);
        if !(dtype.is_number() || dtype == DatumType::Bool) {
            return Err(unsupported());
        }
        let as_f64 = tensor.cast_to::<f64>().map_err(|_| unsupported())?;
        let data = as_f64
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f64>().map(<[f64]>::to_vec))
            .map_err(|_| unsupported())?;
        // NaN and infinities are refused only on the outputs that leave (`Disclosure::apply`).
        Ok(Self { shape: tensor.shape().to_vec(), dtype: dtype_name(dtype), data })
    }
}

/// The ONNX spelling of a dtype, which is what users see in their model viewers.
pub(crate) fn dtype_name(dt: DatumType) -> String {
    match dt {
        DatumType::F16 => "float16",
        DatumType::F32 => "float32",
        DatumType::F64 => "float64",
        DatumType::I8 => "int8",
        DatumType::I16 => "int16",
        DatumType::I32 => "int32",
        DatumType::I64 => "int64",
        DatumType::U8 => "uint8",
        DatumType::U16 => "uint16",
        DatumType::U32 => "uint32",
        DatumType::U64 => "uint64",
        DatumType::Bool => "bool",
        DatumType::String => "string",
        other => return format!("{other:?}").to_lowercase(),
    }
    .to_string()
}

/// The values of an f32 tensor, for tests.
#[cfg(test)]
pub(crate) fn f32s(tensor: &Tensor) -> Vec<f32> {
    tensor.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec()
}
