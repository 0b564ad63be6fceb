mod anchors;
mod detection;
mod steps;

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use self::anchors::SsdAnchors;
pub(crate) use self::detection::Frame;
pub use self::detection::{CoordinateOrder, Detection, DetectionPostprocess, Nms, NmsMethod};
use self::steps::Scored;
pub use self::steps::{Step, StepResult};
use crate::{EngineError, OutputTensor};

/// What to derive from the raw outputs before they are returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Postprocess {
    /// The output to score; the model's first output when omitted.
    #[serde(default)]
    pub output: Option<String>,
    /// Apply softmax over the last axis before ranking (for models that emit logits).
    #[serde(default)]
    pub softmax: bool,
    /// How many best classes to return per sample.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub top_k: Option<usize>,
    /// Class names by index; an index past the end is returned without a label.
    #[serde(default)]
    pub labels: Vec<String>,
    /// A pipeline over the scored output, each step's result in `postprocessed`.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Decode detector outputs into boxes and keypoints (SSD anchors, sigmoid, threshold, NMS).
    #[serde(default)]
    pub detection: Option<DetectionPostprocess>,
}

/// One ranked class of one sample (`row` is the sample's index in the batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopK {
    pub row: usize,
    pub index: usize,
    // Always sent, as null when the class has no label (`required` alone would drop the null).
    #[schemars(required, extend("type" = ["string", "null"]))]
    pub label: Option<String>,
    pub score: f64,
}

/// Numerically stable softmax.
pub fn softmax(values: &[f64]) -> Vec<f64> {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = values.iter().map(|v| (v - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// The `k` highest scores, best first; ties keep the lower index first.
pub fn top_k(scores: &[f64], k: usize) -> Vec<(usize, f64)> {
    let mut ranked: Vec<(usize, f64)> = scores.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(k);
    ranked
}

impl Postprocess {
    /// Runs the `steps` pipeline over the scored output's raw values.
    pub(crate) fn run_steps(&self, output_name: &str, output: &OutputTensor) -> Result<Vec<StepResult>, EngineError> {
        if self.steps.is_empty() {
            return Ok(Vec::new());
        }
        let mut scored = Scored { name: output_name, values: Cow::Borrowed(output), labels: &self.labels };
        self.steps.iter().map(|step| step.apply(&mut scored)).collect()
    }

    /// Ranks classes along the last axis of the scored output, for every sample in it.
    pub(crate) fn rank(&self, output_name: &str, output: &OutputTensor) -> Result<Option<Vec<TopK>>, EngineError> {
        let Some(k) = self.top_k else { return Ok(None) };
        let mut scored = Scored { name: output_name, values: Cow::Borrowed(output), labels: &self.labels };
        if self.softmax {
            scored.softmax()?;
        }
        scored.ranked(k).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 1000.0, 0.0]);
        assert!((p[0] - 0.5).abs() < 1e-12 && (p[1] - 0.5).abs() < 1e-12);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ranks_each_row_with_labels() {
        let output =
            OutputTensor { shape: vec![2, 3], dtype: "float32".into(), data: vec![0.1, 0.7, 0.2, 0.5, 0.1, 0.4] };
        let post = Postprocess { top_k: Some(2), labels: vec!["a".into(), "b".into()], ..Default::default() };
        let ranked = post.rank("p", &output).unwrap().unwrap();
        let got: Vec<_> = ranked.iter().map(|t| (t.row, t.index, t.label.as_deref())).collect();
        assert_eq!(got, vec![(0, 1, Some("b")), (0, 2, None), (1, 0, Some("a")), (1, 2, None)]);
    }

    #[test]
    fn non_finite_scores_are_an_error() {
        let output = OutputTensor { shape: vec![1, 2], dtype: "float32".into(), data: vec![f64::NAN, 1.0] };
        let post = Postprocess { top_k: Some(1), ..Default::default() };
        assert_eq!(post.rank("p", &output).unwrap_err().code(), "postprocess");
    }
}
