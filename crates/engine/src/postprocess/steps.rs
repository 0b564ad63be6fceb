//! Post-processing steps, declared as data: a pipeline over one output's values.
//!
//! Transforms (`softmax`, `sigmoid`) replace the values the next steps see; readers
//! (`argmax`, `top_k`, `threshold`) report on them. Every step adds one entry to the
//! result's `postprocessed` list, tagged with its `op`.
//!
//! To add a step: a variant in [`Step`], a variant in [`StepResult`], and an arm in
//! [`Step::apply`].

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{softmax, top_k, TopK};
use crate::{EngineError, OutputTensor};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    // The parameterless steps are empty struct variants, not unit ones: serde lets a unit
    // variant of an internally tagged enum carry unknown fields (`{"op": "softmax", "k": 1}`),
    // which the schema, and so Python and the component, refuse.
    /// Softmax over the last axis.
    Softmax {},
    /// Logistic function, element-wise (multi-label or binary heads).
    Sigmoid {},
    /// The best class of each row.
    Argmax {},
    /// The `k` best classes of each row, best first.
    TopK {
        #[schemars(range(min = 1))]
        k: usize,
    },
    /// Every class of each row scoring at least `value` (multi-label decisions).
    Threshold { value: f64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepResult {
    Softmax { values: OutputTensor },
    Sigmoid { values: OutputTensor },
    Argmax { classes: Vec<TopK> },
    TopK { classes: Vec<TopK> },
    Threshold { value: f64, classes: Vec<TopK> },
}

/// The values flowing through the pipeline: one output, copied only once a step transforms it.
pub(crate) struct Scored<'a> {
    pub name: &'a str,
    pub values: Cow<'a, OutputTensor>,
    pub labels: &'a [String],
}

impl Scored<'_> {
    /// Rows along the last axis; a scalar output has no classes to rank.
    fn rows(&self) -> Result<std::slice::Chunks<'_, f64>, EngineError> {
        let classes = self.values.shape.last().copied().unwrap_or(0);
        if classes == 0 {
            return Err(EngineError::Postprocess(format!("output {:?} has no class axis to rank", self.name)));
        }
        if let Some(row) = self.values.data.chunks(classes).position(|r| r.iter().any(|s| !s.is_finite())) {
            return Err(EngineError::Postprocess(format!(
                "output {:?} holds NaN or infinite scores for sample {row}",
                self.name
            )));
        }
        Ok(self.values.data.chunks(classes))
    }

    fn class(&self, row: usize, index: usize, score: f64) -> TopK {
        TopK { row, index, label: self.labels.get(index).cloned(), score }
    }

    /// Replaces the values by their softmax over the last axis.
    pub(crate) fn softmax(&mut self) -> Result<(), EngineError> {
        let rows: Vec<f64> = self.rows()?.flat_map(softmax).collect();
        self.values.to_mut().data = rows;
        Ok(())
    }

    pub(crate) fn ranked(&self, k: usize) -> Result<Vec<TopK>, EngineError> {
        let mut out = Vec::new();
        for (row, scores) in self.rows()?.enumerate() {
            out.extend(top_k(scores, k).into_iter().map(|(index, score)| self.class(row, index, score)));
        }
        Ok(out)
    }
}

impl Step {
    pub(crate) fn apply(&self, scored: &mut Scored<'_>) -> Result<StepResult, EngineError> {
        Ok(match self {
            Self::Softmax {} => {
                scored.softmax()?;
                StepResult::Softmax { values: scored.values.clone().into_owned() }
            }
            Self::Sigmoid {} => {
                scored.values.to_mut().data.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
                StepResult::Sigmoid { values: scored.values.clone().into_owned() }
            }
            Self::Argmax {} => StepResult::Argmax { classes: scored.ranked(1)? },
            Self::TopK { k } => StepResult::TopK { classes: scored.ranked(*k)? },
            Self::Threshold { value } => {
                let mut classes = Vec::new();
                for (row, scores) in scored.rows()?.enumerate() {
                    let hits = scores.iter().enumerate().filter(|(_, &s)| s >= *value);
                    classes.extend(hits.map(|(index, &score)| scored.class(row, index, score)));
                }
                StepResult::Threshold { value: *value, classes }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored<'a>(data: Vec<f64>, labels: &'a [String]) -> Scored<'a> {
        let values = OutputTensor { shape: vec![2, 3], dtype: "float32".into(), data };
        Scored { name: "y", values: Cow::Owned(values), labels }
    }

    fn run(steps: &[Step], data: Vec<f64>, labels: &[String]) -> Vec<StepResult> {
        let mut s = scored(data, labels);
        steps.iter().map(|step| step.apply(&mut s).unwrap()).collect()
    }

    #[test]
    fn sigmoid_then_threshold_reports_every_hit_per_row() {
        let labels = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let results =
            run(&[Step::Sigmoid {}, Step::Threshold { value: 0.5 }], vec![2.0, -1.0, 0.0, -3.0, -2.0, 5.0], &labels);
        let StepResult::Threshold { classes, .. } = &results[1] else { panic!("{results:?}") };
        let hits: Vec<_> = classes.iter().map(|c| (c.row, c.label.as_deref().unwrap())).collect();
        assert_eq!(hits, vec![(0, "a"), (0, "c"), (1, "c")]);
        assert!((classes[0].score - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn softmax_then_argmax_and_top_k() {
        let results =
            run(&[Step::Softmax {}, Step::Argmax {}, Step::TopK { k: 2 }], vec![1.0, 3.0, 2.0, 0.0, 0.0, 1.0], &[]);
        let StepResult::Softmax { values } = &results[0] else { panic!() };
        assert!((values.data[..3].iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let StepResult::Argmax { classes } = &results[1] else { panic!() };
        assert_eq!(classes.iter().map(|c| (c.row, c.index)).collect::<Vec<_>>(), vec![(0, 1), (1, 2)]);
        let StepResult::TopK { classes } = &results[2] else { panic!() };
        assert_eq!(classes.iter().map(|c| c.index).collect::<Vec<_>>(), vec![1, 2, 2, 0]);
    }

    #[test]
    fn steps_are_data() {
        let steps: Vec<Step> =
            serde_json::from_str(r#"[{"op": "sigmoid"}, {"op": "top_k", "k": 2}, {"op": "threshold", "value": 0.3}]"#)
                .unwrap();
        assert_eq!(steps, vec![Step::Sigmoid {}, Step::TopK { k: 2 }, Step::Threshold { value: 0.3 }]);
        assert!(serde_json::from_str::<Step>(r#"{"op": "top_k", "k": 2, "kk": 1}"#).is_err());
        assert!(serde_json::from_str::<Step>(r#"{"op": "median"}"#).is_err());
    }
}
