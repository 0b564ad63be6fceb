//! Turning a file the person picked into the tensor a model expects, as declared by the app.

mod csv;
mod dicom;
mod dicom_lengths;
mod image;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::Tensor;

pub use self::csv::CsvPreprocess;
pub(crate) use self::dicom::header_attributes;
pub use self::dicom::{DicomAttribute, DicomPreprocess, DicomPreview, Window, WindowName, TRANSFER_SYNTAXES};
pub(crate) use self::image::upright_size;
pub use self::image::{Color, ImagePreprocess, Layout, Resize};
use crate::{EngineError, Limits, TensorInfo};

/// How file bytes become the model's input, chosen by the app (not guessed from the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Preprocess {
    Image(ImagePreprocess),
    Csv(CsvPreprocess),
    Dicom(DicomPreprocess),
}

impl Preprocess {
    /// The model input dtype the app declares, checked against the model's when given.
    pub(crate) fn dtype(&self) -> Option<&str> {
        match self {
            Self::Image(config) => config.dtype.as_deref(),
            Self::Dicom(config) => config.dtype.as_deref(),
            Self::Csv(_) => None,
        }
    }

    pub(crate) fn apply(&self, bytes: &[u8], input: &TensorInfo, limits: &Limits) -> Result<Tensor, EngineError> {
        limits.check_input_bytes(bytes.len())?;
        if bytes.is_empty() {
            return Err(EngineError::Preprocess("the file is empty".into()));
        }
        match self {
            Self::Image(config) => config.apply(bytes, input, limits),
            Self::Csv(config) => config.apply(bytes, input, limits),
            Self::Dicom(config) => config.apply(bytes, input, limits),
        }
    }
}

/// Interleaved (HWC) pixel values as the model's input: `(value * scale - mean[c]) / std[c]`,
/// laid out as `layout` says. Shared by every picture-like preprocess (image, DICOM).
pub(crate) fn pixel_tensor(
    values: &[f32],
    (w, h, c): (usize, usize, usize),
    layout: Layout,
    (scale, mean, std): (f32, &[f32], &[f32]),
) -> Result<Tensor, EngineError> {
    let normalize = |value: f32, channel: usize| {
        let m = mean.get(channel).copied().unwrap_or(0.0);
        let s = std.get(channel).copied().unwrap_or(1.0);
        (value * scale - m) / s
    };
    let interleaved = || values.iter().enumerate().map(|(i, &v)| normalize(v, i % c)).collect::<Vec<f32>>();
    let (shape, data) = match layout {
        Layout::Nhwc => (vec![1, h, w, c], interleaved()),
        Layout::Flat => (vec![1, h * w * c], interleaved()),
        // Pixels arrive interleaved; only NCHW needs them regrouped per channel.
        Layout::Nchw => (
            vec![1, c, h, w],
            (0..c).flat_map(|ch| values.iter().skip(ch).step_by(c).map(move |&v| normalize(v, ch))).collect(),
        ),
    };
    Tensor::from_shape(&shape, &data).map_err(|e| EngineError::Preprocess(crate::error::chain(&e)))
}

/// The model input's dims that are fixed numbers; `None` where the model leaves a dim symbolic.
fn concrete_dims(input: &TensorInfo) -> Vec<Option<usize>> {
    input.shape.iter().map(|d| d.parse().ok()).collect()
}
