//! Box decoding, score sigmoid, threshold and NMS for SSD-style detectors (BlazeFace and
//! other MediaPipe detectors), declared as data.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::anchors::{Anchor, SsdAnchors};
use crate::budget::MAX_COORDINATE;
use crate::{EngineError, OutputTensor};

/// How the raw values of one anchor are laid out: `[x, y, w, h, kx, ky, …]` ("xy", MediaPipe's
/// `reverse_output_order`) or `[y, x, h, w, ky, kx, …]` ("yx").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CoordinateOrder {
    Xy,
    Yx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NmsMethod {
    /// Keep the best box, drop the ones that overlap it.
    Hard,
    /// Replace the best box by the score-weighted mean of the boxes that overlap it (MediaPipe's
    /// WEIGHTED algorithm, which steadies face boxes).
    Weighted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Nms {
    pub method: NmsMethod,
    /// Boxes whose intersection over union with a kept box exceeds this are suppressed.
    #[schemars(range(min = 0, max = 1))]
    pub iou_threshold: f64,
    #[serde(default = "default_max_detections")]
    pub max_detections: usize,
}

fn default_max_detections() -> usize {
    100
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectionPostprocess {
    /// The output holding, per anchor, the box (and keypoint) regressions.
    pub boxes: String,
    /// The output holding one score (a logit when `sigmoid`) per anchor.
    pub scores: String,
    pub anchors: SsdAnchors,
    pub coordinate_order: CoordinateOrder,
    /// Divisors of the raw x, y, w, h values (the model's input size for BlazeFace).
    #[schemars(extend("items" = {"type": "number", "not": {"const": 0}}))]
    pub box_scale: [f64; 4],
    #[serde(default)]
    pub keypoints: usize,
    /// Index of the first keypoint value within an anchor's values.
    #[serde(default = "default_keypoint_offset")]
    pub keypoint_offset: usize,
    #[serde(default)]
    pub sigmoid: bool,
    /// Raw scores are clamped to ±this before the sigmoid.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub score_clip: Option<f64>,
    /// Minimum score (after the sigmoid) of a detection.
    pub threshold: f64,
    pub nms: Nms,
}

fn default_keypoint_offset() -> usize {
    4
}

/// How a detection's coordinates, normalized to the model input (0 to 1), map onto the
/// picture they are reported in: `x * scale[0] + offset[0]`, `y * scale[1] + offset[1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    pub scale: [f64; 2],
    pub offset: [f64; 2],
}

impl Frame {
    /// A picture that fills the model input exactly (stretched, or the input itself).
    pub(crate) fn stretched(width: f64, height: f64) -> Self {
        Self { scale: [width, height], offset: [0.0, 0.0] }
    }

    fn map(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        [x * self.scale[0] + self.offset[0], y * self.scale[1] + self.offset[1]]
    }
}

/// A detected object in the pixel coordinates of the image that was fed (or of the model
/// input, for a tensor request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    pub score: f64,
    /// `[xmin, ymin, xmax, ymax]`.
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
    /// `[x, y]` per keypoint.
    pub keypoints: Vec<[f64; 2]>,
}

impl DetectionPostprocess {
    /// Decodes, thresholds and suppresses; `frame` maps the boxes onto the picture.
    pub(crate) fn detect(
        &self,
        outputs: &BTreeMap<String, OutputTensor>,
        frame: Frame,
    ) -> Result<Vec<Detection>, EngineError> {
        // Also checked with the request; `f64::clamp` below panics on a bad clip, so never skipped.
        self.validate()?;
        let anchors = self.anchors.generate()?;
        let output = |name: &str| {
            outputs.get(name).ok_or_else(|| {
                EngineError::InvalidRequest(format!(
                    "postprocess.detection names output {name:?}, which the model does not have; its outputs are: {}",
                    outputs.keys().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
                ))
            })
        };
        let (boxes, scores) = (output(&self.boxes)?, output(&self.scores)?);
        let mismatch = |what: &str, len: usize| {
            EngineError::Postprocess(format!(
                "output {what:?} holds {len} values, which does not split over the {} anchors the options generate",
                anchors.len()
            ))
        };
        if scores.data.len() != anchors.len() {
            return Err(mismatch(&self.scores, scores.data.len()));
        }
        if boxes.data.len() % anchors.len() != 0 {
            return Err(mismatch(&self.boxes, boxes.data.len()));
        }
        let per_anchor = boxes.data.len() / anchors.len();
        let needed = (self.keypoint_offset + 2 * self.keypoints).max(4);
        if per_anchor < needed || (self.keypoints > 0 && self.keypoint_offset < 4) {
            return Err(EngineError::Postprocess(format!(
                "output {:?} has {per_anchor} values per anchor; 4 box values and {} keypoints from index {} need {needed}",
                self.boxes, self.keypoints, self.keypoint_offset
            )));
        }
        let mut candidates = Vec::new();
        for (ix, (anchor, raw)) in anchors.iter().zip(boxes.data.chunks_exact(per_anchor)).enumerate() {
            let score = self.score(scores.data[ix]);
            if score >= self.threshold {
                candidates.push(self.decode(anchor, raw, score));
            }
        }
        let kept = match self.nms.method {
            NmsMethod::Hard => hard_nms(candidates, self.nms.iou_threshold, self.nms.max_detections),
            NmsMethod::Weighted => weighted_nms(candidates, self.nms.iou_threshold, self.nms.max_detections),
        };
        // On the picture, and inside the domain the bound counts (`budget::MAX_COORDINATE`): a
        // model cannot carry more in a coordinate than the receipt says by placing it far away.
        let place = |point: [f64; 2]| -> Result<[f64; 2], EngineError> {
            let mapped = frame.map(point);
            if mapped.iter().any(|v| !v.is_finite()) {
                return Err(EngineError::NonFiniteOutput { output: self.boxes.clone(), count: 1 });
            }
            Ok(mapped.map(|v| v.clamp(-MAX_COORDINATE, MAX_COORDINATE)))
        };
        kept.into_iter()
            .map(|d| {
                let [x0, y0] = place([d.bbox[0], d.bbox[1]])?;
                let [x1, y1] = place([d.bbox[2], d.bbox[3]])?;
                let keypoints = d.keypoints.iter().map(|&p| place(p)).collect::<Result<_, _>>()?;
                Ok(Detection { score: d.score, bbox: [x0, y0, x1, y1], keypoints })
            })
            .collect()
    }

    fn score(&self, raw: f64) -> f64 {
        let raw = match self.score_clip {
            Some(clip) => raw.clamp(-clip, clip),
            None => raw,
        };
        if self.sigmoid {
            1.0 / (1.0 + (-raw).exp())
        } else {
            raw
        }
    }

    /// One anchor's box and keypoints, in normalized input coordinates.
    fn decode(&self, anchor: &Anchor, raw: &[f64], score: f64) -> Detection {
        let [sx, sy, sw, sh] = self.box_scale;
        let pair = |i: usize| match self.coordinate_order {
            CoordinateOrder::Xy => (raw[i], raw[i + 1]),
            CoordinateOrder::Yx => (raw[i + 1], raw[i]),
        };
        let (cx, cy) = pair(0);
        let (w, h) = pair(2);
        let (cx, cy) = (cx / sx * anchor.w + anchor.x, cy / sy * anchor.h + anchor.y);
        let (w, h) = (w / sw * anchor.w, h / sh * anchor.h);
        let keypoints = (0..self.keypoints)
            .map(|k| {
                let (x, y) = pair(self.keypoint_offset + 2 * k);
                [x / sx * anchor.w + anchor.x, y / sy * anchor.h + anchor.y]
            })
            .collect();
        Detection { score, bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], keypoints }
    }
}

fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let ix = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iy = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ix * iy;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Best first; ties keep the anchor order.
fn by_score(mut detections: Vec<Detection>) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    detections
}

fn hard_nms(candidates: Vec<Detection>, threshold: f64, max: usize) -> Vec<Detection> {
    let mut kept: Vec<Detection> = Vec::new();
    for d in by_score(candidates) {
        if kept.len() == max {
            break;
        }
        if kept.iter().all(|k| iou(&k.bbox, &d.bbox) <= threshold) {
            kept.push(d);
        }
    }
    kept
}

fn weighted_nms(candidates: Vec<Detection>, threshold: f64, max: usize) -> Vec<Detection> {
    let mut remaining = by_score(candidates);
    let mut kept = Vec::new();
    while !remaining.is_empty() && kept.len() < max {
        let top = remaining[0].bbox;
        let (overlapping, rest): (Vec<Detection>, Vec<Detection>) =
            remaining.into_iter().partition(|d| iou(&d.bbox, &top) > threshold);
        let total: f64 = overlapping.iter().map(|d| d.score).sum();
        let mean =
            |value: &dyn Fn(&Detection) -> f64| overlapping.iter().map(|d| value(d) * d.score).sum::<f64>() / total;
        let best = &overlapping[0];
        kept.push(Detection {
            score: best.score,
            bbox: [0, 1, 2, 3].map(|j| mean(&|d: &Detection| d.bbox[j])),
            keypoints: (0..best.keypoints.len())
                .map(|k| [mean(&|d: &Detection| d.keypoints[k][0]), mean(&|d: &Detection| d.keypoints[k][1])])
                .collect(),
        });
        remaining = rest;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f64, bbox: [f64; 4]) -> Detection {
        Detection { score, bbox, keypoints: vec![[bbox[0], bbox[1]]] }
    }

    #[test]
    fn iou_of_identical_disjoint_and_half_overlapping_boxes() {
        assert_eq!(iou(&[0., 0., 2., 2.], &[0., 0., 2., 2.]), 1.0);
        assert_eq!(iou(&[0., 0., 1., 1.], &[2., 2., 3., 3.]), 0.0);
        assert!((iou(&[0., 0., 2., 1.], &[1., 0., 3., 1.]) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn hard_nms_keeps_the_best_of_each_cluster() {
        let kept = hard_nms(
            vec![det(0.6, [0., 0., 1., 1.]), det(0.9, [0.05, 0., 1.05, 1.]), det(0.7, [5., 5., 6., 6.])],
            0.3,
            10,
        );
        let scores: Vec<f64> = kept.iter().map(|d| d.score).collect();
        assert_eq!(scores, vec![0.9, 0.7]);
    }

    #[test]
    fn weighted_nms_averages_the_cluster_by_score() {
        let kept = weighted_nms(vec![det(0.75, [0., 0., 1., 1.]), det(0.25, [0.2, 0., 1.2, 1.])], 0.3, 10);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].score, 0.75);
        assert!((kept[0].bbox[0] - 0.05).abs() < 1e-12 && (kept[0].bbox[2] - 1.05).abs() < 1e-12);
        assert!((kept[0].keypoints[0][0] - 0.05).abs() < 1e-12);
    }

    #[test]
    fn a_negative_or_nan_score_clip_is_a_typed_error_not_a_panic() {
        let golden: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/golden/tflite_blazeface_detections.json")).unwrap();
        let mut config: DetectionPostprocess = serde_json::from_value(golden["detection"].clone()).unwrap();
        for clip in [-1.0, f64::NAN] {
            config.score_clip = Some(clip);
            let error = config.detect(&BTreeMap::new(), Frame::stretched(1.0, 1.0)).unwrap_err();
            assert!(error.to_string().contains("score_clip"), "{clip}: {error}");
        }
    }

    #[test]
    fn max_detections_caps_the_result() {
        let far_apart: Vec<Detection> =
            (0..5).map(|i| det(0.9, [i as f64 * 10., 0., i as f64 * 10. + 1., 1.])).collect();
        assert_eq!(hard_nms(far_apart.clone(), 0.3, 2).len(), 2);
        assert_eq!(weighted_nms(far_apart, 0.3, 2).len(), 2);
    }
}
