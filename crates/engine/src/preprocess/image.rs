use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::Tensor;

use super::concrete_dims;
use crate::postprocess::Frame;
use crate::{EngineError, Limits, TensorInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    #[default]
    Rgb,
    Bgr,
    Grayscale,
}

/// Where channels go in the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    #[default]
    Nchw,
    Nhwc,
    /// `[1, height * width * channels]`, row-major, for MLPs over pixels.
    Flat,
}

/// How the picture is fitted to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// Scale each axis independently (the aspect ratio changes).
    #[default]
    Stretch,
    /// Scale to cover the target, then cut the overflow evenly from both sides.
    CenterCrop,
    /// Scale to fit inside the target, then pad evenly with `pad` (as YOLO-style models expect).
    Letterbox,
}

/// Decode (PNG, JPEG, WebP, BMP, GIF's first frame; EXIF orientation applied), fit to size,
/// convert the colour, and normalize: `value = (pixel * scale - mean[c]) / std[c]`. The values
/// are then converted to the model input's dtype (for a uint8 model, use `scale: 1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagePreprocess {
    /// `[width, height]`; taken from the model input's shape when omitted.
    #[serde(default)]
    #[schemars(inner(range(min = 1)))]
    pub size: Option<[u32; 2]>,
    #[serde(default)]
    pub color: Color,
    #[serde(default)]
    pub resize: Resize,
    /// The pixel value (0-255, before scaling) of letterbox padding.
    #[serde(default)]
    pub pad: u8,
    #[serde(default)]
    pub layout: Layout,
    #[serde(default = "default_scale")]
    pub scale: f32,
    /// One value per channel, or empty for none.
    #[serde(default)]
    pub mean: Vec<f32>,
    /// One value per channel, or empty for none.
    #[serde(default)]
    #[schemars(extend("items" = {"type": "number", "not": {"const": 0}}))]
    pub std: Vec<f32>,
    /// The input dtype the app expects (ONNX spelling, e.g. "uint8"); checked against the model.
    /// Values are converted to the model's dtype in any case, and must be whole for integers.
    #[serde(default)]
    #[schemars(extend("enum" = crate::capabilities::input_dtypes_or_null()))]
    pub dtype: Option<String>,
}

fn default_scale() -> f32 {
    1.0 / 255.0
}

impl ImagePreprocess {
    pub(crate) fn channels(&self) -> usize {
        match self.color {
            Color::Grayscale => 1,
            Color::Rgb | Color::Bgr => 3,
        }
    }

    /// The target size, from the config or else from the model's input shape.
    pub(crate) fn target_size(&self, input: &TensorInfo) -> Result<(u32, u32), EngineError> {
        if let Some([w, h]) = self.size {
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

    pub(crate) fn apply(&self, bytes: &[u8], input: &TensorInfo, limits: &Limits) -> Result<Tensor, EngineError> {
        self.validate()?;
        let (width, height) = self.target_size(input)?;
        let (w, h, c) = (width as usize, height as usize, self.channels());
        // Before decoding: a model that declares a huge input must not make us allocate it.
        // (Checked as four dims, so that the product cannot overflow on 32-bit wasm.)
        limits.check_tensor(&[1, c, h, w])?;
        let image = self.fit(decode(bytes, limits)?, width, height);
        let pixels: Vec<u8> = match self.color {
            Color::Grayscale => image.into_luma8().into_raw(),
            Color::Rgb => image.into_rgb8().into_raw(),
            Color::Bgr => {
                let mut raw = image.into_rgb8().into_raw();
                raw.chunks_exact_mut(3).for_each(|px| px.swap(0, 2));
                raw
            }
        };
        let values: Vec<f32> = pixels.into_iter().map(f32::from).collect();
        super::pixel_tensor(&values, (w, h, c), self.layout, (self.scale, &self.mean, &self.std))
    }
}

/// The size a `(iw, ih)` picture is scaled to before it is cropped or padded to
/// `(width, height)`: covering it (center crop) or inside it (letterbox), aspect kept.
pub(super) fn scaled_size(resize: Resize, (iw, ih): (u32, u32), (width, height): (u32, u32)) -> (u32, u32) {
    let (fw, fh) = (f64::from(iw), f64::from(ih));
    let scaled = |ratio: f64| ((fw * ratio).round().max(1.0) as u32, (fh * ratio).round().max(1.0) as u32);
    let (rw, rh) = (f64::from(width) / fw, f64::from(height) / fh);
    match resize {
        Resize::Stretch => (width, height),
        Resize::CenterCrop => {
            let (sw, sh) = scaled(rw.max(rh));
            (sw.max(width), sh.max(height))
        }
        Resize::Letterbox => {
            let (sw, sh) = scaled(rw.min(rh));
            (sw.min(width), sh.min(height))
        }
    }
}

impl ImagePreprocess {
    /// How coordinates normalized to the `(width, height)` model input map back onto the
    /// `(iw, ih)` picture this preprocessing fitted to it: the inverse of [`Self::fit`].
    pub(crate) fn frame(&self, picture: (u32, u32), (width, height): (u32, u32)) -> Frame {
        let (sw, sh) = scaled_size(self.resize, picture, (width, height));
        // Per axis: input pixel = normalized * size; picture pixel = (input pixel ± shift) * picture / scaled.
        let axis = |size: u32, scaled: u32, picture: u32| {
            let shift = match self.resize {
                Resize::Stretch => 0.0,
                Resize::CenterCrop => f64::from((scaled - size) / 2),
                Resize::Letterbox => -f64::from((size - scaled) / 2),
            };
            let ratio = f64::from(picture) / f64::from(scaled);
            (f64::from(size) * ratio, shift * ratio)
        };
        let ((ax, bx), (ay, by)) = (axis(width, sw, picture.0), axis(height, sh, picture.1));
        Frame { scale: [ax, ay], offset: [bx, by] }
    }

    fn fit(&self, image: DynamicImage, width: u32, height: u32) -> DynamicImage {
        if image.width() == width && image.height() == height {
            return image;
        }
        let (sw, sh) = scaled_size(self.resize, (image.width(), image.height()), (width, height));
        match self.resize {
            Resize::Stretch => image.resize_exact(width, height, FilterType::Triangle),
            Resize::CenterCrop => image.resize_exact(sw, sh, FilterType::Triangle).crop_imm(
                (sw - width) / 2,
                (sh - height) / 2,
                width,
                height,
            ),
            Resize::Letterbox => {
                let inner = image.resize_exact(sw, sh, FilterType::Triangle).into_rgb8();
                let mut canvas = RgbImage::from_pixel(width, height, image::Rgb([self.pad; 3]));
                image::imageops::replace(
                    &mut canvas,
                    &inner,
                    i64::from((width - sw) / 2),
                    i64::from((height - sh) / 2),
                );
                DynamicImage::ImageRgb8(canvas)
            }
        }
    }
}

/// Decodes with the pixel limit checked from the header first, so a small file that
/// declares a huge canvas (a decompression bomb) is refused before any allocation.
fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, EngineError> {
    let error = |e: image::ImageError| EngineError::ImageDecode(e.to_string());
    // On 32-bit targets (the wasm build) the image crate's decoders fail on a huge declared
    // canvas while sizing their buffer, with a generic "Memory limit exceeded"; reading the
    // header's size first lets the pixel limit name the problem. A header this cannot parse
    // is left to the decoder, whose own error then explains it.
    if let Ok(size) = imagesize::blob_size(bytes) {
        let clamp = |d: usize| u32::try_from(d).unwrap_or(u32::MAX);
        limits.check_image(clamp(size.width), clamp(size.height))?;
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| EngineError::ImageDecode(e.to_string()))?;
    if reader.format().is_none() {
        return Err(EngineError::ImageDecode("the file is not a PNG, JPEG, WebP, BMP or GIF image".into()));
    }
    let mut decoder = reader.into_decoder().map_err(error)?;
    let (width, height) = decoder.dimensions();
    limits.check_image(width, height)?;
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    decoder.set_limits(decode_limits).map_err(error)?;
    // Phones store portrait photos sideways plus an EXIF note; the person saw them upright.
    let orientation = decoder.orientation().map_err(error)?;
    // For an animated GIF this is its first frame.
    let mut image = DynamicImage::from_decoder(decoder).map_err(error)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The image's size as the person sees it: the header's, swapped when EXIF says the picture
/// is stored on its side. None when the header cannot be read (decoding reports why).
pub(crate) fn upright_size(bytes: &[u8]) -> Option<(u32, u32)> {
    use image::metadata::Orientation::{Rotate270, Rotate270FlipH, Rotate90, Rotate90FlipH};
    let mut decoder = ImageReader::new(Cursor::new(bytes)).with_guessed_format().ok()?.into_decoder().ok()?;
    let (width, height) = decoder.dimensions();
    match decoder.orientation().ok()? {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => Some((height, width)),
        _ => Some((width, height)),
    }
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
        ImagePreprocess {
            size: None,
            color: Color::Rgb,
            resize: Resize::Stretch,
            pad: 0,
            layout,
            scale: 1.0,
            mean: vec![],
            std: vec![],
            dtype: None,
        }
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

    fn encode(img: RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img).write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn frames_invert_each_resize() {
        let map = |resize, picture, point: [f64; 2]| {
            let frame = ImagePreprocess { resize, ..config(Layout::Nhwc) }.frame(picture, (100, 100));
            [point[0] * frame.scale[0] + frame.offset[0], point[1] * frame.scale[1] + frame.offset[1]]
        };
        // Stretch: the input's corners are the picture's.
        assert_eq!(map(Resize::Stretch, (400, 200), [1.0, 1.0]), [400.0, 200.0]);
        // Letterbox: 400x200 becomes 100x50 at rows 25-75; those rows are the picture's edges.
        assert_eq!(map(Resize::Letterbox, (400, 200), [0.5, 0.25]), [200.0, 0.0]);
        assert_eq!(map(Resize::Letterbox, (400, 200), [0.5, 0.75]), [200.0, 200.0]);
        // Center crop: 400x200 becomes 200x100, columns 50-150 kept: picture columns 100-300.
        assert_eq!(map(Resize::CenterCrop, (400, 200), [0.0, 0.0]), [100.0, 0.0]);
        assert_eq!(map(Resize::CenterCrop, (400, 200), [1.0, 1.0]), [300.0, 200.0]);
    }

    #[test]
    fn upright_size_follows_exif_orientation() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/exif_orientation_6.png");
        let bytes = std::fs::read(path).unwrap();
        let stored = ImageReader::new(Cursor::new(&bytes)).with_guessed_format().unwrap().into_dimensions().unwrap();
        assert_ne!(stored.0, stored.1, "the fixture must not be square");
        assert_eq!(upright_size(&bytes), Some((stored.1, stored.0)));
    }

    #[test]
    fn a_huge_canvas_in_the_header_is_refused_before_any_decoder_runs() {
        // PNG signature + IHDR declaring 100000x100000 (CRC and pixel data absent: never read).
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bytes.extend(100_000u32.to_be_bytes());
        bytes.extend(100_000u32.to_be_bytes());
        bytes.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        let err = config(Layout::Nchw).apply(&bytes, &info(&["1", "3", "8", "8"]), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "image_too_large", "{err}");
    }

    #[test]
    fn decodes_webp_bmp_and_gif() {
        let img = RgbImage::from_pixel(3, 2, Rgb([200, 100, 50]));
        for format in [ImageFormat::WebP, ImageFormat::Bmp, ImageFormat::Gif] {
            let bytes = encode(img.clone(), format);
            let t = config(Layout::Nhwc).apply(&bytes, &info(&["1", "2", "3", "3"]), &Limits::default()).unwrap();
            let values = crate::tensor::f32s(&t);
            // GIF quantizes to a palette; the others are lossless here.
            let tolerance = if format == ImageFormat::Gif { 8.0 } else { 0.0 };
            assert!(
                values.chunks(3).all(|px| (px[0] - 200.).abs() <= tolerance && (px[2] - 50.).abs() <= tolerance),
                "{format:?}: {values:?}"
            );
        }
    }

    #[test]
    fn exif_orientation_is_applied() {
        // Stored 4x2 and sideways; Pillow's exif_transpose shows it 2x4 with red on top.
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/exif_orientation_6.png")).unwrap();
        let t = config(Layout::Nhwc).apply(&bytes, &info(&["1", "4", "2", "3"]), &Limits::default()).unwrap();
        let values = crate::tensor::f32s(&t);
        let red: Vec<bool> = values.chunks(3).map(|px| px[0] == 255.0 && px[2] == 0.0).collect();
        assert_eq!(red, [true, true, false, false, false, false, false, false]);
    }

    /// An image 4 wide and 2 high: left half black, right half white.
    fn halves() -> Vec<u8> {
        png(RgbImage::from_fn(4, 2, |x, _| if x < 2 { Rgb([0, 0, 0]) } else { Rgb([255, 255, 255]) }))
    }

    #[test]
    fn letterbox_pads_and_center_crop_cuts() {
        let square = info(&["1", "4", "4", "1"]);
        let gray = |resize, pad| ImagePreprocess { color: Color::Grayscale, resize, pad, ..config(Layout::Nhwc) };
        // Letterbox: the 4x2 picture keeps its ratio, centered in rows 1-2, padding 9 above and below.
        let t = gray(Resize::Letterbox, 9).apply(&halves(), &square, &Limits::default()).unwrap();
        assert_eq!(crate::tensor::f32s(&t), [9., 9., 9., 9., 0., 0., 255., 255., 0., 0., 255., 255., 9., 9., 9., 9.]);
        // Center crop: scaled to 8x4, the middle 4 columns (2 black, 2 white) are kept.
        let t = gray(Resize::CenterCrop, 0).apply(&halves(), &square, &Limits::default()).unwrap();
        let values = crate::tensor::f32s(&t);
        assert!(values.chunks(4).all(|row| row[0] < 60. && row[3] > 195.), "{values:?}");
        // Stretch fills the square with both halves, distorted.
        let t = gray(Resize::Stretch, 0).apply(&halves(), &square, &Limits::default()).unwrap();
        assert_eq!(t.shape(), &[1, 4, 4, 1]);
    }

    #[test]
    fn a_huge_declared_input_is_refused_before_decoding() {
        let bytes = png(RgbImage::new(2, 2));
        let err =
            config(Layout::Nchw).apply(&bytes, &info(&["1", "3", "100000", "100000"]), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "tensor_too_large");
    }
}
