use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;

use crate::{EngineError, Limits};

/// An input tensor as it crosses the browser boundary: numbers in row-major order.
/// Values are cast to the model input's own dtype when the model runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTensor {
    /// The model input this feeds; `None` means the model's only input.
    #[serde(default)]
    pub name: Option<String>,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// An output tensor as it is returned to Python.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputTensor {
    pub shape: Vec<usize>,
    pub dtype: String,
    /// Row-major values; f64 holds every integer dtype up to 2^53 and every float exactly.
    pub data: Vec<f64>,
}

impl NamedTensor {
    pub(crate) fn to_tract(&self, limits: &Limits) -> Result<Tensor, EngineError> {
        let expected = limits.check_tensor(&self.shape)?;
        if expected != self.data.len() {
            return Err(EngineError::DataLength { shape: self.shape.clone(), expected, actual: self.data.len() });
        }
        Tensor::from_shape(&self.shape, &self.data).map_err(|e| EngineError::InvalidRequest(crate::error::chain(&e)))
    }
}

impl OutputTensor {
    pub(crate) fn from_tract(name: &str, tensor: &Tensor) -> Result<Self, EngineError> {
        let dtype = tensor.datum_type();
        let unsupported =
            || EngineError::UnsupportedDtype { what: format!("output {name:?}"), dtype: format!("{dtype:?}") };
        if !(dtype.is_number() || dtype == DatumType::Bool) {
            return Err(unsupported());
        }
        let as_f64 = tensor.cast_to::<f64>().map_err(|_| unsupported())?;
        let data = as_f64
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f64>().map(<[f64]>::to_vec))
            .map_err(|_| unsupported())?;
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
