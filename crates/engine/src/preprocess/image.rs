use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::Tensor;

use super::concrete_dims;
use crate::{EngineError, Limits, TensorInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    #[default]
    Rgb,
    Bgr,
    Grayscale,
}

/// Where channels go in the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    #[default]
    Nchw,
    Nhwc,
    /// `[1, height * width * channels]`, row-major, for MLPs over pixels.
    Flat,
}

/// Decode, resize (stretch) and normalize: `value = (pixel * scale - mean[c]) / std[c]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagePreprocess {
    /// `[width, height]`; taken from the model input's shape when omitted.
    #[serde(default)]
    pub size: Option<[u32; 2]>,
    #[serde(default)]
    pub color: Color,
    #[serde(default)]
    pub layout: Layout,
    #[serde(default = "default_scale")]
    pub scale: f32,
    /// One value per channel, or empty for none.
    #[serde(default)]
    pub mean: Vec<f32>,
    /// One value per channel, or empty for none.
    #[serde(default)]
    pub std: Vec<f32>,
}

fn default_scale() -> f32 {
    1.0 / 255.0
}

impl ImagePreprocess {
    fn channels(&self) -> usize {
        match self.color {
            Color::Grayscale => 1,
            Color::Rgb | Color::Bgr => 3,
        }
    }

    /// The target size, from the config or else from the model's input shape.
    fn target_size(&self, input: &TensorInfo) -> Result<(u32, u32), EngineError> {
        if let Some([w, h]) = self.size {
            if w == 0 || h == 0 {
                return Err(EngineError::InvalidRequest("preprocess.size must be positive".into()));
            }
            return Ok((w, h));
        }
        let dims = concrete_dims(input);
        let (h, w) = match (self.layout, dims.as_slice()) {
            (Layout::Nchw, [_, _, Some(h), Some(w)]) => (*h, *w),
            (Layout::Nhwc, [_, Some(h), Some(w), _]) => (*h, *w),
            _ => {
                return Err(EngineError::InvalidRequest(format!(
                    "preprocess.size ([width, height]) is needed: input {:?} has shape [{}], \
                     which does not fix an image size for layout {:?}",
                    input.name,
                    input.shape.join(", "),
                    self.layout
                )))
            }
        };
        Ok((w as u32, h as u32))
    }

    fn check_norm(&self, values: &[f32], what: &str) -> Result<(), EngineError> {
        if !values.is_empty() && values.len() != self.channels() {
            return Err(EngineError::InvalidRequest(format!(
                "preprocess.{what} has {} values, but color {:?} has {} channel(s)",
                values.len(),
                self.color,
                self.channels()
            )));
        }
        Ok(())
    }

    pub(crate) fn apply(&self, bytes: &[u8], input: &TensorInfo, limits: &Limits) -> Result<Tensor, EngineError> {
        self.check_norm(&self.mean, "mean")?;
        self.check_norm(&self.std, "std")?;
        if self.std.iter().any(|&s| s == 0.0) {
            return Err(EngineError::InvalidRequest("preprocess.std must not contain 0".into()));
        }
        let (width, height) = self.target_size(input)?;
        // Before decoding and resizing, which allocate the target size.
        let (w, h, c) = (width as usize, height as usize, self.channels());
        limits.check_tensor(&[1, c, h, w])?;
        let image = decode(bytes, limits)?;
        let image = if image.width() != width || image.height() != height {
            image.resize_exact(width, height, FilterType::Triangle)
        } else {
            image
        };
        let pixels: Vec<u8> = match self.color {
            Color::Grayscale => image.into_luma8().into_raw(),
            Color::Rgb => image.into_rgb8().into_raw(),
            Color::Bgr => {
                let mut raw = image.into_rgb8().into_raw();
                raw.chunks_exact_mut(3).for_each(|px| px.swap(0, 2));
                raw
            }
        };
        let shape = match self.layout {
            Layout::Nchw => vec![1, c, h, w],
            Layout::Nhwc => vec![1, h, w, c],
            Layout::Flat => vec![1, h * w * c],
        };
        let normalize = |value: u8, channel: usize| {
            let mean = self.mean.get(channel).copied().unwrap_or(0.0);
            let std = self.std.get(channel).copied().unwrap_or(1.0);
            (f32::from(value) * self.scale - mean) / std
        };
        // Pixels arrive interleaved (HWC); only NCHW needs them regrouped per channel.
        let data: Vec<f32> = match self.layout {
            Layout::Nhwc | Layout::Flat => pixels.iter().enumerate().map(|(i, &v)| normalize(v, i % c)).collect(),
            Layout::Nchw => (0..c)
                .flat_map(|ch| pixels.iter().skip(ch).step_by(c).map(move |&v| (v, ch)))
                .map(|(v, ch)| normalize(v, ch))
                .collect(),
        };
        Tensor::from_shape(&shape, &data).map_err(|e| EngineError::Preprocess(crate::error::chain(&e)))
    }
}

/// Decodes with the pixel limit checked from the header first, so a small file that
/// declares a huge canvas (a decompression bomb) is refused before any allocation.
fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, EngineError> {
    let reader = || {
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| EngineError::ImageDecode(e.to_string()))
    };
    let probe = reader()?;
    if probe.format().is_none() {
        return Err(EngineError::ImageDecode("the file is not a PNG or JPEG image".into()));
    }
    let (width, height) = probe.into_dimensions().map_err(|e| EngineError::ImageDecode(e.to_string()))?;
    limits.check_image(width, height)?;
    let mut reader = reader()?;
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    reader.limits(decode_limits);
    reader.decode().map_err(|e| EngineError::ImageDecode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgb, RgbImage};

    fn png(img: RgbImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn info(shape: &[&str]) -> TensorInfo {
        TensorInfo { name: "x".into(), shape: shape.iter().map(|s| s.to_string()).collect(), dtype: "float32".into() }
    }

    fn config(layout: Layout) -> ImagePreprocess {
        ImagePreprocess { size: None, color: Color::Rgb, layout, scale: 1.0, mean: vec![], std: vec![] }
    }

    #[test]
    fn nchw_groups_channels_and_nhwc_interleaves() {
        // A 2x1 image: left pixel (1,2,3), right pixel (4,5,6).
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, Rgb([1, 2, 3]));
        img.put_pixel(1, 0, Rgb([4, 5, 6]));
        let bytes = png(img);
        let nchw = config(Layout::Nchw).apply(&bytes, &info(&["1", "3", "1", "2"]), &Limits::default()).unwrap();
        assert_eq!(nchw.shape(), &[1, 3, 1, 2]);
        assert_eq!(crate::tensor::f32s(&nchw), [1., 4., 2., 5., 3., 6.]);
        let nhwc = config(Layout::Nhwc).apply(&bytes, &info(&["1", "1", "2", "3"]), &Limits::default()).unwrap();
        assert_eq!(crate::tensor::f32s(&nhwc), [1., 2., 3., 4., 5., 6.]);
    }

    #[test]
    fn normalizes_per_channel_and_swaps_to_bgr() {
        let bytes = png(RgbImage::from_pixel(1, 1, Rgb([10, 20, 30])));
        let cfg = ImagePreprocess {
            color: Color::Bgr,
            mean: vec![1., 2., 3.],
            std: vec![1., 2., 3.],
            ..config(Layout::Nhwc)
        };
        let t = cfg.apply(&bytes, &info(&["1", "1", "1", "3"]), &Limits::default()).unwrap();
        assert_eq!(crate::tensor::f32s(&t), [29., 9., 7. / 3.]);
    }

    #[test]
    fn flat_layout_needs_an_explicit_size() {
        let bytes = png(RgbImage::new(4, 4));
        let err = config(Layout::Flat).apply(&bytes, &info(&["N", "64"]), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        let cfg = ImagePreprocess { size: Some([2, 2]), color: Color::Grayscale, ..config(Layout::Flat) };
        let t = cfg.apply(&bytes, &info(&["N", "4"]), &Limits::default()).unwrap();
        assert_eq!(t.shape(), &[1, 4]);
    }

    #[test]
    fn oversized_canvas_is_refused_before_decoding() {
        let bytes = png(RgbImage::new(200, 200));
        let limits = Limits { max_image_pixels: 10_000, ..Limits::default() };
        let err = config(Layout::Nchw).apply(&bytes, &info(&["1", "3", "8", "8"]), &limits).unwrap_err();
        assert_eq!(err.code(), "image_too_large");
    }

    #[test]
    fn non_images_and_truncated_images_are_decode_errors() {
        let err = config(Layout::Nchw).apply(b"hello", &info(&["1", "3", "8", "8"]), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "image_decode");
        let bytes = png(RgbImage::new(64, 64));
        let cut = &bytes[..bytes.len() / 2];
        let err = config(Layout::Nchw).apply(cut, &info(&["1", "3", "8", "8"]), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "image_decode");
    }
}
