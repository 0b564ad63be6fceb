//! An upper bound, in bits, on what one result can carry about the input it was computed from.
//!
//! The bound counts every number and choice that leaves, at the precision it leaves with:
//! - a raw output: its values × the bits of one value (its dtype's width; a value rounded
//!   to `decimals` keeps its dtype's range, so rounding does not lower this bound);
//! - the ranking (`top_k`): per entry, the class (log2 of the classes), the row (log2 of the
//!   rows that may leave) and the score (a probability rounded to `decimals` is one of
//!   10^decimals + 1 values; an unrounded or raw score counts 32 bits), plus how many entries
//!   there are;
//! - derived steps: softmax and sigmoid values as probabilities, classes as above;
//! - detections: per box its score (a probability) and each coordinate (pixels of a picture
//!   of at most 2^16 a side, at `decimals`; unrounded, 32 bits), plus how many boxes.
//!
//! Timings are not counted: they depend on the machine as much as on the input, and leave
//! with every result (docs/disclosure.md says what they can reveal).

use crate::{Detection, OutputTensor, StepResult, TopK};

/// What the bound needs to know besides the values themselves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Precision {
    /// The policy's rounding, if any.
    pub decimals: Option<u32>,
    /// Scores are probabilities (the ranking applied softmax, or a sigmoid or softmax step).
    pub probability_scores: bool,
    /// The number of classes a ranked index can take.
    pub classes: usize,
    /// The number of rows a ranked entry's row index can take.
    pub rows: usize,
}

/// The widest a float from the model can be: outputs are float32 (or narrower) in practice.
const RAW_FLOAT_BITS: f64 = 32.0;
/// The largest picture side a detection coordinate can address (pixels).
const MAX_SIDE_BITS: f64 = 16.0;

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

    fn score(&self) -> f64 {
        if self.probability_scores {
            self.probability()
        } else {
            RAW_FLOAT_BITS
        }
    }

    fn coordinate(&self) -> f64 {
        match self.decimals {
            Some(d) => (MAX_SIDE_BITS + (d as f64) * 10f64.log2()).min(RAW_FLOAT_BITS),
            None => RAW_FLOAT_BITS,
        }
    }

    fn ranked_entry(&self) -> f64 {
        log2_count(self.classes) + log2_count(self.rows) + self.score()
    }

    pub(crate) fn output(&self, tensor: &OutputTensor) -> f64 {
        tensor.data.len() as f64 * dtype_bits(&tensor.dtype)
    }

    pub(crate) fn top_k(&self, ranked: &[TopK]) -> f64 {
        ranked.len() as f64 * self.ranked_entry() + log2_count(ranked.len() + 1)
    }

    pub(crate) fn steps(&self, steps: &[StepResult]) -> f64 {
        steps
            .iter()
            .map(|step| match step {
                StepResult::Softmax { values } | StepResult::Sigmoid { values } => {
                    values.data.len() as f64 * self.probability()
                }
                StepResult::Argmax { classes }
                | StepResult::TopK { classes }
                | StepResult::Threshold { classes, .. } => {
                    classes.len() as f64 * self.ranked_entry() + log2_count(classes.len() + 1)
                }
            })
            .sum()
    }

    pub(crate) fn detections(&self, detections: &[Detection]) -> f64 {
        let boxes: f64 = detections
            .iter()
            .map(|d| self.probability() + (4 + 2 * d.keypoints.len()) as f64 * self.coordinate())
            .sum();
        boxes + log2_count(detections.len() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_rounded_probabilities_of_ten_classes_are_a_few_dozen_bits() {
        let p = Precision { decimals: Some(2), probability_scores: true, classes: 10, rows: 1 };
        let ranked: Vec<TopK> = (0..3).map(|i| TopK { row: 0, index: i, label: None, score: 0.5 }).collect();
        // 3 × (log2 10 + log2 101) + log2 4 = 3 × (3.32 + 6.66) + 2
        assert!((p.top_k(&ranked) - 31.94).abs() < 0.01, "{}", p.top_k(&ranked));
    }

    #[test]
    fn a_raw_output_counts_its_dtype_whatever_the_rounding() {
        let p = Precision { decimals: Some(0), probability_scores: false, classes: 1, rows: 1 };
        let t = OutputTensor { shape: vec![10], dtype: "float32".into(), data: vec![0.0; 10] };
        assert_eq!(p.output(&t), 320.0);
    }
}
