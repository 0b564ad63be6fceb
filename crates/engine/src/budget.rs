//! An upper bound, in bits, on what one result can carry about the input it was computed from.
//!
//! The bound counts every number and choice that leaves, at the precision it leaves with, in
//! the domain the engine holds it to:
//! - a raw output: its values × the bits of one value (its dtype's width; a value rounded
//!   to `decimals` keeps its dtype's range, so rounding does not lower this bound), and its
//!   shape where the model does not fix it (a dim per 32 bits: the input's values chose it);
//! - the ranking (`top_k`): per entry, the class (log2 of the classes), the row (log2 of the
//!   rows that may leave) and the score (a probability rounded to `decimals` is one of
//!   10^decimals + 1 values; an unrounded or raw score counts 32 bits), plus how many entries
//!   there are;
//! - derived steps, in order: softmax and sigmoid values as probabilities; the classes of the
//!   steps after them with probability scores, of the steps before them with raw scores (the
//!   steps run on the raw values, whatever the ranking's `softmax` says), each as above;
//! - detections: per box its score (a probability after the detector's sigmoid, raw without
//!   it) and each coordinate (clamped to ±[`MAX_COORDINATE`] pixels, at `decimals`;
//!   unrounded, 32 bits), plus how many boxes.
//!
//! Timings are not counted: they depend on the machine as much as on the input, and leave
//! with every result (docs/disclosure.md says what they can reveal).

use crate::{Detection, OutputTensor, StepResult, TopK};

/// What the bound needs to know besides the values themselves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Precision {
    /// The policy's rounding, if any.
    pub decimals: Option<u32>,
    /// The ranking's scores are probabilities (it applied softmax).
    pub ranking_probabilities: bool,
    /// The detections' scores are probabilities (the detector applied its sigmoid).
    pub detection_probabilities: bool,
    /// The number of classes a ranked index can take.
    pub classes: usize,
    /// The number of rows a ranked entry's row index can take.
    pub rows: usize,
}

/// The widest a float from the model can be: outputs are float32 (or narrower) in practice.
const RAW_FLOAT_BITS: f64 = 32.0;
/// Detection coordinates leave clamped to ±this many pixels of the picture's corner: twice the
/// side of the largest picture an image preprocess reads (2^16), either way.
pub(crate) const MAX_COORDINATE: f64 = 65536.0;
const COORDINATE_BITS: f64 = 17.0;
/// A dim of a shape the input's values chose: a usize of the browser's engine.
const DIM_BITS: f64 = 32.0;

fn log2_count(n: usize) -> f64 {
    (n.max(1) as f64).log2()
}

fn dtype_bits(dtype: &str) -> f64 {
    match dtype {
        "bool" => 1.0,
        "uint8" | "int8" => 8.0,
        "uint16" | "int16" | "float16" => 16.0,
        "uint32" | "int32" | "float32" => 32.0,
        _ => 64.0,
    }
}

impl Precision {
    /// The bits of one probability: 10^decimals + 1 values once rounded.
    fn probability(&self) -> f64 {
        match self.decimals {
            Some(d) => (10f64.powi(d as i32) + 1.0).log2().min(RAW_FLOAT_BITS),
            None => RAW_FLOAT_BITS,
        }
    }

    fn score(&self, probability: bool) -> f64 {
        if probability {
            self.probability()
        } else {
            RAW_FLOAT_BITS
        }
    }

    fn coordinate(&self) -> f64 {
        match self.decimals {
            Some(d) => (COORDINATE_BITS + (d as f64) * 10f64.log2()).min(RAW_FLOAT_BITS),
            None => RAW_FLOAT_BITS,
        }
    }

    fn ranked(&self, classes: &[TopK], probability: bool) -> f64 {
        let entry = log2_count(self.classes) + log2_count(self.rows) + self.score(probability);
        classes.len() as f64 * entry + log2_count(classes.len() + 1)
    }

    /// `fixed`: the model fixes the output's shape for the input's shape.
    pub(crate) fn output(&self, tensor: &OutputTensor, fixed: bool) -> f64 {
        let shape = if fixed { 0.0 } else { tensor.shape.len() as f64 * DIM_BITS };
        tensor.data.len() as f64 * dtype_bits(&tensor.dtype) + shape
    }

    pub(crate) fn top_k(&self, ranked: &[TopK]) -> f64 {
        self.ranked(ranked, self.ranking_probabilities)
    }

    pub(crate) fn steps(&self, steps: &[StepResult]) -> f64 {
        let mut probabilities = false;
        steps
            .iter()
            .map(|step| match step {
                StepResult::Softmax { values } | StepResult::Sigmoid { values } => {
                    probabilities = true;
                    values.data.len() as f64 * self.probability()
                }
                StepResult::Argmax { classes }
                | StepResult::TopK { classes }
                | StepResult::Threshold { classes, .. } => self.ranked(classes, probabilities),
            })
            .sum()
    }

    pub(crate) fn detections(&self, detections: &[Detection]) -> f64 {
        let boxes: f64 = detections
            .iter()
            .map(|d| self.score(self.detection_probabilities) + (4 + 2 * d.keypoints.len()) as f64 * self.coordinate())
            .sum();
        boxes + log2_count(detections.len() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_rounded_probabilities_of_ten_classes_are_a_few_dozen_bits() {
        let p = Precision {
            decimals: Some(2),
            ranking_probabilities: true,
            detection_probabilities: false,
            classes: 10,
            rows: 1,
        };
        let ranked: Vec<TopK> = (0..3).map(|i| TopK { row: 0, index: i, label: None, score: 0.5 }).collect();
        // 3 × (log2 10 + log2 101) + log2 4 = 3 × (3.32 + 6.66) + 2
        assert!((p.top_k(&ranked) - 31.94).abs() < 0.01, "{}", p.top_k(&ranked));
    }

    #[test]
    fn a_raw_output_counts_its_dtype_whatever_the_rounding() {
        let p = Precision {
            decimals: Some(0),
            ranking_probabilities: false,
            detection_probabilities: false,
            classes: 1,
            rows: 1,
        };
        let t = OutputTensor { shape: vec![10], dtype: "float32".into(), data: vec![0.0; 10] };
        assert_eq!(p.output(&t, true), 320.0);
        // A shape the input's values chose carries its dims, even with no value in it.
        let empty = OutputTensor { shape: vec![0, 7], dtype: "float32".into(), data: vec![] };
        assert_eq!(p.output(&empty, false), 64.0);
    }
}
