//! A DICOM file the person picked, as a model input: one frame of its pixel data, through the
//! modality LUT (rescale slope and intercept: Hounsfield units for CT) and the VOI window,
//! MONOCHROME1 inverted, YBR converted to RGB, then sized, normalized and laid out as an
//! image's pixels are. Read with dicom-rs (`dicom-object`, `dicom-pixeldata` and its pure-Rust
//! codecs) here in the Worker: nothing of the header leaves it. JPEG 2000 and JPEG-LS are not
//! decoded (no pure-Rust decoder that runs in the Worker): they are `dicom_unsupported_syntax`.

use std::io::Cursor;

use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::{ConvertOptions, PhotometricInterpretation, PixelDecoder};
use image::imageops::{self, FilterType};
use image::{ImageBuffer, Pixel};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::Tensor;

use super::{concrete_dims, Color, Layout, Resize};
use crate::{EngineError, Limits, TensorInfo};

/// The transfer syntaxes whose pixel data this engine decodes, by UID and name. Any other is a
/// `dicom_unsupported_syntax` error that names it.
pub const TRANSFER_SYNTAXES: &[(&str, &str)] = &[
    ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
    ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
    ("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
    ("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
    ("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
    ("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1)"),
];

/// Which values of the modality LUT's output map to black and white.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Window {
    Named(WindowName),
    /// `[center, width]`, as the file's Window Center and Window Width would give them.
    Custom([f64; 2]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WindowName {
    /// The file's first Window Center and Window Width; a file without them is an error.
    File,
    /// No window: the modality LUT's values as they are (CT in HU), for a model that
    /// normalizes them itself with `scale`, `mean` and `std`.
    None,
}

impl Default for Window {
    fn default() -> Self {
        Self::Named(WindowName::File)
    }
}

/// Decode one frame of a DICOM file (see [`TRANSFER_SYNTAXES`]), apply the modality LUT and
/// the VOI window (to [0, 1], PS3.3 C.11.2.1.2's linear function), invert MONOCHROME1, then fit
/// to size and normalize: `value = (pixel * scale - mean[c]) / std[c]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DicomPreprocess {
    #[serde(default)]
    pub window: Window,
    /// The frame of a multi-frame file, from 0.
    #[serde(default)]
    pub frame: u32,
    /// `[width, height]`; taken from the model input's shape when omitted.
    #[serde(default)]
    #[schemars(inner(range(min = 1)))]
    pub size: Option<[u32; 2]>,
    /// The channels the model takes: `grayscale` (a colour file is reduced to its luma), or
    /// `rgb`/`bgr` (a monochrome file is repeated in each).
    #[serde(default = "grayscale")]
    pub color: Color,
    /// How the frame is fitted to `size`; letterbox padding is black (0 after the window).
    #[serde(default)]
    pub resize: Resize,
    #[serde(default)]
    pub layout: Layout,
    #[serde(default = "one")]
    pub scale: f32,
    /// One value per channel, or empty for none.
    #[serde(default)]
    pub mean: Vec<f32>,
    /// One value per channel, or empty for none.
    #[serde(default)]
    #[schemars(extend("items" = {"type": "number", "not": {"const": 0}}))]
    pub std: Vec<f32>,
    /// The input dtype the app expects (ONNX spelling); checked against the model.
    #[serde(default)]
    #[schemars(extend("enum" = crate::capabilities::input_dtypes_or_null()))]
    pub dtype: Option<String>,
}

fn grayscale() -> Color {
    Color::Grayscale
}

fn one() -> f32 {
    1.0
}

/// One frame after the modality LUT and the window: rows of `channels` interleaved values.
struct Frame {
    width: u32,
    height: u32,
    channels: usize,
    values: Vec<f32>,
}

impl DicomPreprocess {
    pub(crate) fn channels(&self) -> usize {
        match self.color {
            Color::Grayscale => 1,
            Color::Rgb | Color::Bgr => 3,
        }
    }

    pub(crate) fn apply(&self, bytes: &[u8], input: &TensorInfo, limits: &Limits) -> Result<Tensor, EngineError> {
        self.validate()?;
        let frame = self.read_frame(bytes, limits)?;
        let (width, height) = self.target_size(input, &frame)?;
        let c = self.channels();
        let (w, h) = (width as usize, height as usize);
        limits.check_tensor(&[1, c, h, w])?;
        let frame = self.to_channels(self.fit(frame, width, height)?);
        super::pixel_tensor(&frame.values, (w, h, c), self.layout, (self.scale, &self.mean, &self.std))
    }

    fn target_size(&self, input: &TensorInfo, frame: &Frame) -> Result<(u32, u32), EngineError> {
        if let Some([w, h]) = self.size {
            return Ok((w, h));
        }
        match (self.layout, concrete_dims(input).as_slice()) {
            (Layout::Nchw, [_, _, Some(h), Some(w)]) | (Layout::Nhwc, [_, Some(h), Some(w), _]) => {
                Ok((*w as u32, *h as u32))
            }
            // A model that leaves the size open takes the frame as it is.
            (Layout::Nchw | Layout::Nhwc, [_, _, _, _]) => Ok((frame.width, frame.height)),
            _ => Err(EngineError::InvalidRequest(format!(
                "preprocess.size ([width, height]) is needed: input {:?} has shape [{}], which does not fix an image \
                 size for layout {:?}",
                input.name,
                input.shape.join(", "),
                self.layout
            ))),
        }
    }

    /// The chosen frame, with the pixel limits checked from the header before any decoding.
    fn read_frame(&self, bytes: &[u8], limits: &Limits) -> Result<Frame, EngineError> {
        let object = parse(bytes)?;
        let syntax = object.meta().transfer_syntax().trim_end_matches('\0').to_string();
        if !TRANSFER_SYNTAXES.iter().any(|(uid, _)| *uid == syntax) {
            return Err(EngineError::DicomUnsupportedSyntax { syntax: syntax_name(&syntax) });
        }
        let number = |tag, what: &str| -> Result<u32, EngineError> {
            match object.element_opt(tag).map_err(|e| dicom_error(format!("{what}: {e}")))? {
                Some(element) => element.to_int::<u32>().map_err(|e| dicom_error(format!("{what}: {e}"))),
                None => Ok(1),
            }
        };
        if object.element_opt(tags::PIXEL_DATA).ok().flatten().is_none() {
            return Err(dicom_error("the file has no Pixel Data element: it is not an image".into()));
        }
        let (rows, columns) = (number(tags::ROWS, "Rows")?, number(tags::COLUMNS, "Columns")?);
        let frames = number(tags::NUMBER_OF_FRAMES, "Number of Frames")?;
        let samples = number(tags::SAMPLES_PER_PIXEL, "Samples per Pixel")?;
        limits.check_image(columns, rows)?;
        limits.check_tensor(&[frames as usize, samples as usize, rows as usize, columns as usize])?;
        if self.frame >= frames {
            return Err(dicom_error(format!(
                "preprocess.frame is {}, but the file has {frames} frame(s), numbered from 0",
                self.frame
            )));
        }
        let bits = number(tags::BITS_ALLOCATED, "Bits Allocated")?;
        // dicom-pixeldata asserts on a Bits Stored of 0 or over 32 and builds a table of 2^Bits
        // Stored entries: only what real studies use gets that far (found by the fuzz target).
        let stored = number(tags::BITS_STORED, "Bits Stored")?;
        if !matches!(bits, 8 | 16) || stored == 0 || stored > bits || !matches!(samples, 1 | 3) {
            return Err(dicom_error(format!(
                "{bits} bits allocated, {stored} stored, {samples} sample(s) per pixel: 8 or 16 bits allocated, 1 to \
                 that many stored, and 1 or 3 samples are read"
            )));
        }
        if JPEG_SYNTAXES.contains(&syntax.as_str()) {
            let room = u64::from(rows) * u64::from(columns) * u64::from(samples) * u64::from(bits.div_ceil(8));
            jpeg_fits(&object, room)?;
        }
        if syntax == RLE_LOSSLESS {
            let segments = samples as usize * bits.div_ceil(8) as usize;
            rle_fits(&object, self.frame as usize, segments, u64::from(rows) * u64::from(columns))?;
        }
        let pixels = object.decode_pixel_data_frame(self.frame).map_err(|e| dicom_error(e.to_string()))?;
        let photometric = pixels.photometric_interpretation().clone();
        let channels = usize::from(pixels.samples_per_pixel());
        // The modality LUT (rescale) is applied by the conversion; windows are ours to apply.
        let raw: Vec<f64> =
            pixels.to_vec_frame_with_options(0, &ConvertOptions::new()).map_err(|e| dicom_error(e.to_string()))?;
        let values = match (&photometric, channels) {
            (PhotometricInterpretation::Monochrome1 | PhotometricInterpretation::Monochrome2, 1) => {
                let monochrome1 = photometric == PhotometricInterpretation::Monochrome1;
                let window = self.window_of(&pixels)?;
                let range = || stored_range(&pixels);
                raw.iter().map(|&x| grey(x, window, monochrome1, range)).collect()
            }
            (PhotometricInterpretation::Rgb, 3) => raw.iter().map(|&v| (v / max_sample(&pixels)) as f32).collect(),
            (PhotometricInterpretation::YbrFull, 3) => ybr_to_rgb(&raw, max_sample(&pixels)),
            (other, n) => {
                return Err(dicom_error(format!(
                    "photometric interpretation {other} with {n} sample(s) per pixel is not supported (MONOCHROME1, \
                     MONOCHROME2, RGB and YBR_FULL are)"
                )))
            }
        };
        let (width, height) = (pixels.columns(), pixels.rows());
        if values.len() != width as usize * height as usize * channels {
            return Err(dicom_error("the frame's pixel data does not hold Rows x Columns samples".into()));
        }
        Ok(Frame { width, height, channels, values })
    }

    fn window_of(&self, pixels: &dicom_pixeldata::DecodedPixelData<'_>) -> Result<Option<(f64, f64)>, EngineError> {
        let (center, width) = match self.window {
            Window::Named(WindowName::None) => return Ok(None),
            Window::Custom([center, width]) => (center, width),
            Window::Named(WindowName::File) => {
                let file = pixels.window().map_err(|e| dicom_error(e.to_string()))?;
                let first = file.and_then(|w| w.first()).ok_or_else(|| {
                    EngineError::InvalidRequest(
                        "preprocess.window is \"file\", but the file has no Window Center and Width: set \
                         preprocess.window to [center, width], or to \"none\""
                            .into(),
                    )
                })?;
                (first.center, first.width)
            }
        };
        if !(width >= 1.0) {
            return Err(EngineError::InvalidRequest(format!("the window's width is {width}; it must be at least 1")));
        }
        Ok(Some((center, width)))
    }

    /// Fits the frame to `(width, height)` as an image is fitted (`resize`), in f32 throughout.
    fn fit(&self, frame: Frame, width: u32, height: u32) -> Result<Frame, EngineError> {
        if frame.width == width && frame.height == height {
            return Ok(frame);
        }
        match frame.channels {
            1 => fit_buffer::<image::Luma<f32>>(self.resize, frame, width, height),
            _ => fit_buffer::<image::Rgb<f32>>(self.resize, frame, width, height),
        }
    }

    /// The frame with the channels the model takes.
    fn to_channels(&self, frame: Frame) -> Frame {
        // A frame has 1 channel (monochrome) or 3 (RGB), as `read_frame` made it.
        let values = match (frame.channels, self.color) {
            (1, Color::Grayscale) => frame.values,
            (1, _) => frame.values.iter().flat_map(|&v| [v, v, v]).collect(),
            (_, Color::Rgb) => frame.values,
            (_, Color::Grayscale) => {
                frame.values.chunks_exact(3).map(|p| 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]).collect()
            }
            (_, Color::Bgr) => frame.values.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]).collect(),
        };
        Frame { channels: self.channels(), values, ..frame }
    }
}

/// The header attributes an app may ask to receive (`disclosure.dicom_attributes`): acquisition
/// and geometry facts that identify no one. Everything else, above all what the PS3.15 Basic
/// Application Level Confidentiality Profile removes (names, IDs, dates and times, UIDs,
/// institution, physicians, descriptions, addresses), is refused when the request is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum DicomAttribute {
    Modality,
    BodyPartExamined,
    ImageType,
    PhotometricInterpretation,
    Rows,
    Columns,
    NumberOfFrames,
    SamplesPerPixel,
    BitsStored,
    PixelSpacing,
    ImagerPixelSpacing,
    SliceThickness,
    SpacingBetweenSlices,
    RescaleSlope,
    RescaleIntercept,
    RescaleType,
    WindowCenter,
    WindowWidth,
    #[serde(rename = "KVP")]
    Kvp,
    ViewPosition,
    PatientPosition,
    Laterality,
    ImageLaterality,
}

impl DicomAttribute {
    fn tag(self) -> dicom_core::Tag {
        match self {
            Self::Modality => tags::MODALITY,
            Self::BodyPartExamined => tags::BODY_PART_EXAMINED,
            Self::ImageType => tags::IMAGE_TYPE,
            Self::PhotometricInterpretation => tags::PHOTOMETRIC_INTERPRETATION,
            Self::Rows => tags::ROWS,
            Self::Columns => tags::COLUMNS,
            Self::NumberOfFrames => tags::NUMBER_OF_FRAMES,
            Self::SamplesPerPixel => tags::SAMPLES_PER_PIXEL,
            Self::BitsStored => tags::BITS_STORED,
            Self::PixelSpacing => tags::PIXEL_SPACING,
            Self::ImagerPixelSpacing => tags::IMAGER_PIXEL_SPACING,
            Self::SliceThickness => tags::SLICE_THICKNESS,
            Self::SpacingBetweenSlices => tags::SPACING_BETWEEN_SLICES,
            Self::RescaleSlope => tags::RESCALE_SLOPE,
            Self::RescaleIntercept => tags::RESCALE_INTERCEPT,
            Self::RescaleType => tags::RESCALE_TYPE,
            Self::WindowCenter => tags::WINDOW_CENTER,
            Self::WindowWidth => tags::WINDOW_WIDTH,
            Self::Kvp => tags::KVP,
            Self::ViewPosition => tags::VIEW_POSITION,
            Self::PatientPosition => tags::PATIENT_POSITION,
            Self::Laterality => tags::LATERALITY,
            Self::ImageLaterality => tags::IMAGE_LATERALITY,
        }
    }

    /// The attribute's keyword, as the request and the result name it.
    pub fn keyword(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
}

/// The values of `wanted` in the file's header, as text (multiple values joined by `\`, as
/// DICOM writes them); null where the file does not have one.
pub(crate) fn header_attributes(
    bytes: &[u8],
    wanted: &[DicomAttribute],
) -> Result<std::collections::BTreeMap<String, Option<String>>, EngineError> {
    let object = parse(bytes)?;
    wanted
        .iter()
        .map(|&attribute| {
            let element = object.element_opt(attribute.tag()).map_err(|e| dicom_error(e.to_string()))?;
            let value = match element {
                Some(element) => Some(element.to_str().map_err(|e| dicom_error(e.to_string()))?.trim().to_string()),
                None => None,
            };
            Ok((attribute.keyword(), value))
        })
        .collect()
}

/// The frame as the person should see it in the sandbox: windowed as the model gets it (with no
/// window, its own range stretched to black and white), MONOCHROME1 inverted, at most
/// `max_side` pixels a side. `width` and `height` are the frame's own.
#[derive(Debug, Clone, PartialEq)]
pub struct DicomPreview {
    pub width: u32,
    pub height: u32,
    pub preview_width: u32,
    pub preview_height: u32,
    /// `preview_width x preview_height` pixels, RGBA.
    pub rgba: Vec<u8>,
}

impl DicomPreprocess {
    pub fn preview(&self, bytes: &[u8], limits: &Limits, max_side: u32) -> Result<DicomPreview, EngineError> {
        self.validate()?;
        let frame = self.read_frame(bytes, limits)?;
        let (low, high) = match self.window {
            Window::Named(WindowName::None) => {
                frame.values.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
            }
            _ => (0.0, 1.0),
        };
        let span = if high > low { high - low } else { 1.0 };
        let byte = |v: f32| (((v - low) / span).clamp(0.0, 1.0) * 255.0).round() as u8;
        let rgba: Vec<u8> = match frame.channels {
            1 => frame.values.iter().flat_map(|&v| [byte(v), byte(v), byte(v), 255]).collect(),
            _ => frame.values.chunks_exact(3).flat_map(|p| [byte(p[0]), byte(p[1]), byte(p[2]), 255]).collect(),
        };
        let image = image::RgbaImage::from_raw(frame.width, frame.height, rgba)
            .ok_or_else(|| dicom_error("the frame holds fewer values than its size".into()))?;
        let scale = (max_side as f32 / frame.width.max(frame.height) as f32).min(1.0);
        let (pw, ph) = (
            ((frame.width as f32 * scale).round() as u32).max(1),
            ((frame.height as f32 * scale).round() as u32).max(1),
        );
        let shown = if scale < 1.0 { imageops::resize(&image, pw, ph, FilterType::Triangle) } else { image };
        Ok(DicomPreview {
            width: frame.width,
            height: frame.height,
            preview_width: shown.width(),
            preview_height: shown.height(),
            rgba: shown.into_raw(),
        })
    }
}

const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// dicom-rs decodes each RLE segment of a frame into Rows x Columns bytes and indexes past a
/// segment that decodes to fewer, a panic (found by the `dicom_preprocess` fuzz target). So the
/// frame's segments are counted and measured first: `segments` of them, each decoding (PackBits,
/// PS3.5 G.3) to at least `pixels` bytes.
fn rle_fits(object: &DefaultDicomObject, frame: usize, segments: usize, pixels: u64) -> Result<(), EngineError> {
    let invalid = |what: &str| dicom_error(format!("the RLE pixel data is invalid: {what}"));
    let element = object.element(tags::PIXEL_DATA).map_err(|e| dicom_error(e.to_string()))?;
    let fragments = element.value().fragments().unwrap_or_default();
    let fragment = fragments.get(frame).ok_or_else(|| invalid("the frame has no fragment"))?;
    let word = |i: usize| fragment.get(4 * i..4 * i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let count = word(0).ok_or_else(|| invalid("the fragment has no RLE header"))?;
    if count != segments || count > 15 {
        return Err(invalid("the number of segments does not match the samples declared"));
    }
    let mut offsets: Vec<usize> = (1..=count).map(|i| word(i).unwrap_or(usize::MAX)).collect();
    offsets.push(fragment.len());
    for pair in offsets.windows(2) {
        let segment = fragment.get(pair[0]..pair[1]).ok_or_else(|| invalid("a segment lies outside its fragment"))?;
        if packbits_length(segment) < pixels {
            return Err(invalid("a segment decodes to fewer bytes than Rows x Columns"));
        }
    }
    Ok(())
}

/// How many bytes a PackBits segment decodes to.
fn packbits_length(segment: &[u8]) -> u64 {
    let (mut pos, mut length) = (0, 0u64);
    while pos < segment.len() {
        let n = segment[pos] as i8;
        match n {
            0..=127 => {
                let run = n as usize + 1;
                length += run.min(segment.len().saturating_sub(pos + 1)) as u64;
                pos += 1 + run;
            }
            -127..=-1 => {
                if pos + 1 < segment.len() {
                    length += (1 - i64::from(n)) as u64;
                }
                pos += 2;
            }
            -128 => pos += 1,
        }
    }
    length
}

/// The JPEG transfer syntaxes, decoded by jpeg-decoder through dicom-rs.
const JPEG_SYNTAXES: &[&str] =
    &["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"];

/// dicom-rs copies a decoded JPEG frame into a buffer sized from the header's Rows, Columns,
/// Samples per Pixel and Bits Allocated, and panics when the JPEG decodes to more (found by the
/// `dicom_preprocess` fuzz target). So every JPEG among the fragments is measured from its own
/// frame header (SOF) first, and one bigger than the DICOM header's `room` (bytes) is refused.
fn jpeg_fits(object: &DefaultDicomObject, room: u64) -> Result<(), EngineError> {
    let element = object.element(tags::PIXEL_DATA).map_err(|e| dicom_error(e.to_string()))?;
    let fragments = element.value().fragments().unwrap_or_default();
    for fragment in fragments.iter().filter(|f| f.starts_with(&[0xFF, 0xD8])) {
        let (width, height, components, precision) = jpeg_frame_header(fragment)
            .ok_or_else(|| dicom_error("a JPEG frame of the pixel data has no frame header".into()))?;
        let size = u64::from(width) * u64::from(height) * u64::from(components) * if precision > 8 { 2 } else { 1 };
        if size > room {
            return Err(dicom_error(format!(
                "a JPEG frame of the pixel data is {width} x {height} x {components}, more than Rows, Columns and \
                 Samples per Pixel declare"
            )));
        }
    }
    Ok(())
}

/// Width, height, components and precision from a JPEG's SOF segment, walking the marker
/// segments from SOI; None when there is none before the scan.
fn jpeg_frame_header(jpeg: &[u8]) -> Option<(u16, u16, u8, u8)> {
    let mut pos = 2;
    while pos + 4 <= jpeg.len() {
        if jpeg[pos] != 0xFF {
            return None;
        }
        let marker = jpeg[pos + 1];
        let length = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let sof = jpeg.get(pos + 4..pos + 10)?;
            let (height, width) = (u16::from_be_bytes([sof[1], sof[2]]), u16::from_be_bytes([sof[3], sof[4]]));
            return Some((width, height, sof[5], sof[0]));
        }
        if marker == 0xDA {
            return None;
        }
        pos += 2 + length;
    }
    None
}

fn parse(bytes: &[u8]) -> Result<DefaultDicomObject, EngineError> {
    // With its 128-byte preamble, or without (the file meta group straight away).
    let body = match bytes.get(128..132) {
        Some(b"DICM") => &bytes[128..],
        _ if bytes.starts_with(b"DICM") => bytes,
        _ => return Err(dicom_error("the file is not DICOM: it has no \"DICM\" marker".into())),
    };
    super::dicom_lengths::check(body).map_err(dicom_error)?;
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(Cursor::new(body))
        .map_err(|e| dicom_error(e.to_string()))
}

fn dicom_error(message: String) -> EngineError {
    EngineError::Dicom(message)
}

fn syntax_name(uid: &str) -> String {
    let registry = dicom_transfer_syntax_registry::TransferSyntaxRegistry;
    use dicom_encoding::TransferSyntaxIndex;
    match registry.get(uid) {
        Some(ts) => format!("{} ({uid})", ts.name()),
        None => format!("unknown ({uid})"),
    }
}

/// The largest sample value a colour frame can hold.
fn max_sample(pixels: &dicom_pixeldata::DecodedPixelData<'_>) -> f64 {
    f64::from((1u32 << pixels.bits_stored().min(31)) - 1)
}

/// The modality LUT's output for the lowest and highest stored values (MONOCHROME1 with no
/// window inverts over this range).
fn stored_range(pixels: &dicom_pixeldata::DecodedPixelData<'_>) -> (f64, f64) {
    let bits = i32::from(pixels.bits_stored().min(31));
    let (lo, hi) = match pixels.pixel_representation() {
        dicom_pixeldata::PixelRepresentation::Signed => (-(2f64.powi(bits - 1)), 2f64.powi(bits - 1) - 1.0),
        dicom_pixeldata::PixelRepresentation::Unsigned => (0.0, 2f64.powi(bits) - 1.0),
    };
    let rescale = pixels.rescale().ok().and_then(|r| r.first().copied());
    let (slope, intercept) = rescale.map_or((1.0, 0.0), |r| (r.slope, r.intercept));
    let (a, b) = (lo * slope + intercept, hi * slope + intercept);
    (a.min(b), a.max(b))
}

/// A monochrome value through the window (PS3.3 C.11.2.1.2.1, linear, to [0, 1]) and, for
/// MONOCHROME1, inverted.
fn grey(x: f64, window: Option<(f64, f64)>, monochrome1: bool, range: impl Fn() -> (f64, f64)) -> f32 {
    match window {
        Some((c, w)) => {
            let y = if x <= c - 0.5 - (w - 1.0) / 2.0 {
                0.0
            } else if x > c - 0.5 + (w - 1.0) / 2.0 {
                1.0
            } else {
                (x - (c - 0.5)) / (w - 1.0) + 0.5
            };
            (if monochrome1 { 1.0 - y } else { y }) as f32
        }
        None if monochrome1 => {
            let (lo, hi) = range();
            (lo + hi - x) as f32
        }
        None => x as f32,
    }
}

/// YBR_FULL to RGB (PS3.3 C.7.6.3.1.2), scaled to [0, 1].
fn ybr_to_rgb(raw: &[f64], max: f64) -> Vec<f32> {
    let half = (max + 1.0) / 2.0;
    raw.chunks_exact(3)
        .flat_map(|p| {
            let (y, cb, cr) = (p[0], p[1] - half, p[2] - half);
            let rgb = [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb];
            rgb.map(|v| (v.clamp(0.0, max) / max) as f32)
        })
        .collect()
}

fn fit_buffer<P: Pixel<Subpixel = f32> + 'static>(
    resize: Resize,
    frame: Frame,
    width: u32,
    height: u32,
) -> Result<Frame, EngineError> {
    let channels = frame.channels;
    let image = ImageBuffer::<P, Vec<f32>>::from_raw(frame.width, frame.height, frame.values)
        .ok_or_else(|| dicom_error("the frame holds fewer values than its size".into()))?;
    let (sw, sh) = super::image::scaled_size(resize, (frame.width, frame.height), (width, height));
    let scaled = imageops::resize(&image, sw, sh, FilterType::Triangle);
    let fitted = match resize {
        Resize::Stretch => scaled,
        Resize::CenterCrop => {
            imageops::crop_imm(&scaled, (sw - width) / 2, (sh - height) / 2, width, height).to_image()
        }
        Resize::Letterbox => {
            let mut canvas = ImageBuffer::<P, Vec<f32>>::new(width, height);
            imageops::replace(&mut canvas, &scaled, i64::from((width - sw) / 2), i64::from((height - sh) / 2));
            canvas
        }
    };
    Ok(Frame { width, height, channels, values: fitted.into_raw() })
}
