//! The disclosure policy: what of a result may leave the browser, declared by the app and
//! enforced here, in the engine, before the result leaves the Worker.
//!
//! Everything the policy keeps back is named in the receipt ([`Withheld`]), so withholding is
//! never silent. An output that breaks the size ceiling is withheld or fails the run, as the
//! policy's `on_violation` says; a policy that lets nothing through fails the run.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::budget::Precision;
use crate::{Detection, DicomAttribute, EngineError, OutputTensor, RunRequest, StepResult, TopK};

/// Rounding beyond 15 decimals is no rounding at all for an f64.
pub const MAX_DECIMALS: u32 = 15;

/// What may leave the browser. `Disclosure::default()` lets every output leave at full
/// precision; a request runs under its own policy on top of [`Disclosure::default_for`], which
/// for a picked file is the minimum necessary ([`Disclosure::for_request`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Disclosure {
    /// Raw outputs that may leave, by name; `[]` none. Not set: the default for the input
    /// (none of a picked file's, every one of numbers the app supplied).
    #[schemars(inner(length(min = 1)), extend("uniqueItems" = true))]
    pub outputs: Option<Vec<String>>,
    /// Only the ranked classes (`top_k`) leave; every raw output is withheld.
    pub top_k_only: bool,
    /// Derived results that may leave although their sources stay (a face detector's boxes
    /// without its raw anchor tensors). Not set: the default for the input (for a picked file,
    /// those the request's post-processing computes; for numbers the app supplied, those whose
    /// sources all may leave). Listing one is the app's declaration that it discloses no more than it
    /// should; the size limit and rounding still apply.
    pub derived: Option<Vec<DerivedField>>,
    /// Every number derived from the model (output values, top-k scores) is rounded to this
    /// many decimals.
    #[schemars(range(max = MAX_DECIMALS))]
    pub decimals: Option<u32>,
    /// No raw output, derived result or ranking with more elements than this leaves.
    pub max_output_elements: Option<usize>,
    /// How many rows a ranking may cover. By default, the input's own: one per picture, one
    /// per CSV row, the first dim of a tensor. A model that emits more rows than its input
    /// has (one per pixel, say) cannot spread the input over them.
    pub max_rows: Option<usize>,
    /// An upper bound on the bits of information a result may carry about its input
    /// (see `budget.rs` for how the bound is computed).
    pub max_bits: Option<u64>,
    /// What a field over `max_output_elements`, `max_rows` or `max_bits` does to the run.
    pub on_violation: OnViolation,
    /// Header attributes of a picked DICOM file that may leave, by keyword, from an allow-list
    /// of facts that identify no one ([`DicomAttribute`]). None by default: the header stays.
    pub dicom_attributes: Option<Vec<DicomAttribute>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnViolation {
    /// The output is withheld and named in the receipt; the rest of the result leaves.
    #[default]
    Withhold,
    /// The whole run fails with `disclosure_violation`; nothing leaves.
    Error,
}

/// A result field computed from raw outputs, as `Disclosure::derived` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DerivedField {
    Postprocessed,
    Detections,
}

impl DerivedField {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Postprocessed => "postprocessed",
            Self::Detections => "detections",
        }
    }
}

/// Why an output stayed in the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WithheldReason {
    /// The policy's `outputs` (for a derived result: `derived`, or else the `outputs` of all
    /// its sources) does not list it.
    NotListed,
    /// The policy asks for the ranked classes only.
    TopKOnly,
    /// It has more elements than `max_output_elements`.
    TooLarge,
    /// Ranked rows past the rows that may leave (`max_rows`, or the input's rows).
    TooManyRows,
    /// Letting it leave would carry more than `max_bits`.
    OverBudget,
}

/// An output the policy kept in the browser; its name and size, never its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Withheld {
    pub output: String,
    /// Its size where the model fixes it for the input's shape; `None` where the data decides
    /// it (the boxes a detector finds): a count the policy withholds with the values.
    #[schemars(required, extend("type" = ["integer", "null"]))]
    pub elements: Option<usize>,
    pub reason: WithheldReason,
}

/// The element count of each raw output that the model fixes for the input's shape (from the
/// optimized plan's output facts), as opposed to one the input's values decide.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StaticSizes(pub BTreeMap<String, usize>);

/// The part of a result that the policy lets leave, and what it kept back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Disclosed {
    pub outputs: BTreeMap<String, OutputTensor>,
    pub top_k: Option<Vec<TopK>>,
    pub postprocessed: Vec<StepResult>,
    pub detections: Option<Vec<Detection>>,
    pub withheld: Vec<Withheld>,
    /// The DICOM header attributes the policy lets leave, with their values (null: absent).
    pub dicom_attributes: Option<BTreeMap<String, Option<String>>>,
    /// The upper bound on what all of it carries about the input, in bits (rounded up).
    pub bits: u64,
}

impl Disclosed {
    /// Adds the header attributes the policy asked for, and their bits: 8 per character and 8
    /// more for whether the attribute is there (a missing one is null). They were asked for by
    /// name, so a result they would carry past `max_bits` fails instead of losing them.
    pub(crate) fn disclose_header(
        &mut self,
        attributes: BTreeMap<String, Option<String>>,
        max_bits: Option<u64>,
    ) -> Result<(), EngineError> {
        let bits: u64 = attributes.values().map(|v| 8 * (1 + v.as_ref().map_or(0, |s| s.len() as u64))).sum();
        let total = self.bits + bits;
        if let Some(max_bits) = max_bits.filter(|&max| total > max) {
            return Err(EngineError::DisclosureOverBudget { bits: total, max_bits });
        }
        self.bits = total;
        self.dicom_attributes = Some(attributes);
        Ok(())
    }
}

/// A result computed from raw outputs (post-processing steps, decoded detections). It reveals
/// what its sources hold (a softmax is its logits, reshaped), so it may leave only where all
/// of its sources may.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Derived<T> {
    pub value: T,
    /// The raw outputs it was computed from.
    pub sources: Vec<String>,
}

/// How many numbers a derived result carries, for `max_output_elements` and the receipt.
pub(crate) trait Numbers {
    fn numbers(&self) -> usize;
    /// Rounds every number; false when one is too large to carry that many decimals.
    fn round_to(&mut self, decimals: u32) -> bool;
    fn bits(&self, precision: &Precision) -> f64;
    /// Drops what lies past the first `rows` rows; how many entries (or values) it dropped.
    fn keep_rows(&mut self, rows: usize) -> usize;
}

impl Numbers for Vec<StepResult> {
    fn numbers(&self) -> usize {
        self.iter()
            .map(|step| match step {
                StepResult::Softmax { values } | StepResult::Sigmoid { values } => values.data.len(),
                StepResult::Argmax { classes }
                | StepResult::TopK { classes }
                | StepResult::Threshold { classes, .. } => classes.len(),
            })
            .sum()
    }

    fn round_to(&mut self, decimals: u32) -> bool {
        self.iter_mut().all(|step| match step {
            StepResult::Softmax { values } | StepResult::Sigmoid { values } => round_all(&mut values.data, decimals),
            StepResult::Argmax { classes } | StepResult::TopK { classes } | StepResult::Threshold { classes, .. } => {
                classes.iter_mut().all(|c| round_in_place(&mut c.score, decimals))
            }
        })
    }

    fn bits(&self, precision: &Precision) -> f64 {
        precision.steps(self)
    }

    fn keep_rows(&mut self, rows: usize) -> usize {
        self.iter_mut()
            .map(|step| match step {
                StepResult::Softmax { values } | StepResult::Sigmoid { values } => {
                    let classes = values.shape.last().copied().unwrap_or(1).max(1);
                    let beyond = values.data.len().saturating_sub(rows * classes);
                    if beyond > 0 {
                        values.data.truncate(rows * classes);
                        values.shape = vec![rows, classes];
                    }
                    beyond
                }
                StepResult::Argmax { classes }
                | StepResult::TopK { classes }
                | StepResult::Threshold { classes, .. } => {
                    let before = classes.len();
                    classes.retain(|c| c.row < rows);
                    before - classes.len()
                }
            })
            .sum()
    }
}

impl Numbers for Vec<Detection> {
    fn numbers(&self) -> usize {
        self.iter().map(|d| 1 + d.bbox.len() + 2 * d.keypoints.len()).sum()
    }

    fn round_to(&mut self, decimals: u32) -> bool {
        self.iter_mut().all(|d| {
            round_in_place(&mut d.score, decimals)
                && round_all(&mut d.bbox, decimals)
                && d.keypoints.iter_mut().all(|k| round_all(k, decimals))
        })
    }

    fn bits(&self, precision: &Precision) -> f64 {
        precision.detections(self)
    }

    /// Boxes are not rows of the input: `nms.max_detections` bounds how many there are.
    fn keep_rows(&mut self, _rows: usize) -> usize {
        0
    }
}

impl Disclosure {
    /// The policy of a request that declares none. For the person's file, the minimum
    /// necessary (HIPAA's rule, applied by default): only what the request's post-processing
    /// asks for leaves (the ranking, the steps, the detections), and a raw output only when
    /// the app names it in `outputs`. For numbers the app supplied itself, everything.
    pub fn default_for(request: &RunRequest) -> Self {
        if !request.input.reads_a_file() {
            return Self::default();
        }
        let post = request.postprocess.as_ref();
        let derived = [
            (DerivedField::Postprocessed, post.is_some_and(|p| !p.steps.is_empty())),
            (DerivedField::Detections, post.is_some_and(|p| p.detection.is_some())),
        ];
        Self {
            outputs: Some(vec![]),
            derived: Some(derived.into_iter().filter(|(_, asked)| *asked).map(|(field, _)| field).collect()),
            ..Self::default()
        }
    }

    /// The policy a request runs under: its own on top of [`Disclosure::default_for`]. An
    /// explicit policy changes only what it names: one that sets `decimals` alone still sends
    /// no raw output of a picked file, and still sends the derived results the request asks for.
    pub fn for_request(request: &RunRequest) -> Self {
        let default = Self::default_for(request);
        match &request.disclosure {
            None => default,
            Some(policy) => Self {
                outputs: policy.outputs.clone().or(default.outputs),
                derived: policy.derived.clone().or(default.derived),
                ..policy.clone()
            },
        }
    }

    /// Applies the policy to a computed result. `outputs` holds every output of the model;
    /// `facts` says what the bound in bits needs (its `decimals` is the policy's, set here).
    pub(crate) fn apply(
        &self,
        outputs: BTreeMap<String, OutputTensor>,
        top_k: Option<Vec<TopK>>,
        steps: Option<Derived<Vec<StepResult>>>,
        detections: Option<Derived<Vec<Detection>>>,
        facts: Precision,
        sizes: &StaticSizes,
    ) -> Result<Disclosed, EngineError> {
        self.check(&outputs)?;
        let rows = self.max_rows.unwrap_or(facts.rows);
        let precision = Precision { decimals: self.decimals, rows, ..facts };
        let mut withheld = Vec::new();
        let postprocessed = self.derived(DerivedField::Postprocessed, steps, rows, &mut withheld)?.unwrap_or_default();
        let detections = self.derived(DerivedField::Detections, detections, rows, &mut withheld)?;
        let mut kept = BTreeMap::new();
        for (name, mut tensor) in outputs {
            let elements = tensor.data.len();
            let listed = self.outputs.as_ref().is_none_or(|allowed| allowed.contains(&name));
            match self.verdict(&name, elements, listed)? {
                Some(reason) => withheld.push(Withheld { elements: sizes.0.get(&name).copied(), output: name, reason }),
                None => {
                    // Only what leaves must be finite: a withheld output's NaNs (and their count) stay.
                    let count = tensor.data.iter().filter(|v| !v.is_finite()).count();
                    if count > 0 {
                        return Err(EngineError::NonFiniteOutput { output: name, count });
                    }
                    if let Some(decimals) = self.decimals {
                        if !round_all(&mut tensor.data, decimals) {
                            return Err(EngineError::DisclosureUnroundable {
                                field: format!("output {name:?}"),
                                decimals,
                            });
                        }
                    }
                    kept.insert(name, tensor);
                }
            }
        }
        let top_k = match top_k {
            Some(ranked) => self.ranking(ranked, rows, &mut withheld)?,
            None => None,
        };
        if kept.is_empty() && top_k.is_none() && postprocessed.is_empty() && detections.is_none() {
            return Err(EngineError::DisclosureEmpty {
                withheld: withheld
                    .iter()
                    .map(|w| format!("{:?} ({})", w.output, w.reason.explain()))
                    .collect::<Vec<_>>()
                    .join(", "),
                hint: if self.top_k_only {
                    "top_k_only needs postprocess.top_k in the inference parameters"
                } else {
                    "list an output in disclosure.outputs or a derived result in disclosure.derived, raise \
                     max_output_elements, or request postprocess.top_k"
                },
            });
        }
        let mut disclosed =
            Disclosed { outputs: kept, top_k, postprocessed, detections, withheld, dicom_attributes: None, bits: 0 };
        self.within_budget(&mut disclosed, &precision, sizes)?;
        Ok(disclosed)
    }

    /// The ranking, cut to the rows that may leave and checked against the size ceiling.
    fn ranking(
        &self,
        mut ranked: Vec<TopK>,
        rows: usize,
        withheld: &mut Vec<Withheld>,
    ) -> Result<Option<Vec<TopK>>, EngineError> {
        let beyond = ranked.iter().filter(|t| t.row >= rows).count();
        if beyond > 0 {
            if self.on_violation == OnViolation::Error {
                return Err(EngineError::DisclosureRows { allowed: rows });
            }
            ranked.retain(|t| t.row < rows);
            withheld.push(Withheld {
                output: "top_k".into(),
                elements: Some(beyond),
                reason: WithheldReason::TooManyRows,
            });
        }
        if let Some(limit) = self.max_output_elements.filter(|&limit| ranked.len() > limit) {
            if self.on_violation == OnViolation::Error {
                return Err(EngineError::DisclosureViolation { output: "top_k".into(), elements: ranked.len(), limit });
            }
            withheld.push(Withheld {
                output: "top_k".into(),
                elements: Some(ranked.len()),
                reason: WithheldReason::TooLarge,
            });
            return Ok(None);
        }
        if let Some(decimals) = self.decimals {
            if !ranked.iter_mut().all(|t| round_in_place(&mut t.score, decimals)) {
                return Err(EngineError::DisclosureUnroundable { field: "top_k".into(), decimals });
            }
        }
        Ok(Some(ranked))
    }

    /// Computes the bound in bits and holds it to `max_bits`: raw outputs are withheld, the
    /// largest first, while the policy says withhold; past that, the run fails.
    fn within_budget(
        &self,
        disclosed: &mut Disclosed,
        precision: &Precision,
        sizes: &StaticSizes,
    ) -> Result<(), EngineError> {
        let output = |name: &String, tensor: &OutputTensor| precision.output(tensor, sizes.0.contains_key(name));
        let bits = |d: &Disclosed| -> f64 {
            d.outputs.iter().map(|(name, t)| output(name, t)).sum::<f64>()
                + d.top_k.as_deref().map_or(0.0, |r| precision.top_k(r))
                + d.postprocessed.bits(precision)
                + d.detections.as_ref().map_or(0.0, |x| x.bits(precision))
        };
        let Some(max_bits) = self.max_bits else {
            disclosed.bits = bits(disclosed).ceil() as u64;
            return Ok(());
        };
        while bits(disclosed) > max_bits as f64
            && self.on_violation == OnViolation::Withhold
            && disclosed.outputs.len() > 1
        {
            let largest = disclosed
                .outputs
                .iter()
                .max_by(|a, b| output(a.0, a.1).total_cmp(&output(b.0, b.1)))
                .map(|(name, _)| name.clone())
                .expect("outputs is not empty");
            let tensor = disclosed.outputs.remove(&largest).expect("a kept output");
            disclosed.withheld.push(Withheld {
                elements: sizes.0.get(&largest).copied().filter(|&n| n == tensor.data.len()),
                output: largest,
                reason: WithheldReason::OverBudget,
            });
        }
        let total = bits(disclosed).ceil() as u64;
        if total > max_bits {
            return Err(EngineError::DisclosureOverBudget { bits: total, max_bits });
        }
        disclosed.bits = total;
        Ok(())
    }

    /// Whether a raw output or derived result named `name`, of `elements` numbers, stays in
    /// the browser and why; `listed` says whether the policy lets it leave at all.
    fn verdict(&self, name: &str, elements: usize, listed: bool) -> Result<Option<WithheldReason>, EngineError> {
        if self.top_k_only {
            return Ok(Some(WithheldReason::TopKOnly));
        }
        if !listed {
            return Ok(Some(WithheldReason::NotListed));
        }
        match self.max_output_elements.filter(|&limit| elements > limit) {
            Some(limit) if self.on_violation == OnViolation::Error => {
                Err(EngineError::DisclosureViolation { output: name.to_string(), elements, limit })
            }
            Some(_) => Ok(Some(WithheldReason::TooLarge)),
            None => Ok(None),
        }
    }

    /// The rules for raw outputs, applied to a derived result.
    fn derived<T: Numbers>(
        &self,
        field: DerivedField,
        derived: Option<Derived<T>>,
        rows: usize,
        withheld: &mut Vec<Withheld>,
    ) -> Result<Option<T>, EngineError> {
        let Some(Derived { mut value, sources }) = derived else { return Ok(None) };
        // As for the ranking: a model that emits more rows than its input has cannot spread
        // the input over a step's rows either.
        let beyond = value.keep_rows(rows);
        if beyond > 0 {
            if self.on_violation == OnViolation::Error {
                return Err(EngineError::DisclosureRows { allowed: rows });
            }
            withheld.push(Withheld {
                output: field.name().to_string(),
                elements: Some(beyond),
                reason: WithheldReason::TooManyRows,
            });
        }
        let elements = value.numbers();
        let listed = match &self.derived {
            Some(fields) => fields.contains(&field),
            None => self.outputs.as_ref().is_none_or(|allowed| sources.iter().all(|s| allowed.contains(s))),
        };
        if let Some(reason) = self.verdict(field.name(), elements, listed)? {
            // How many boxes or classes a derived result holds can depend on the input: not reported.
            withheld.push(Withheld { output: field.name().to_string(), elements: None, reason });
            return Ok(None);
        }
        if let Some(decimals) = self.decimals {
            if !value.round_to(decimals) {
                return Err(EngineError::DisclosureUnroundable { field: field.name().into(), decimals });
            }
        }
        Ok(Some(value))
    }

    /// A policy that names an output the model does not have is a mistake (a typo, or the
    /// wrong model), not a request to withhold everything: it fails loudly.
    fn check(&self, outputs: &BTreeMap<String, OutputTensor>) -> Result<(), EngineError> {
        for name in self.outputs.iter().flatten() {
            if !outputs.contains_key(name) {
                return Err(EngineError::InvalidRequest(format!(
                    "disclosure.outputs names {name:?}, which is not an output of the model; its outputs are: {}",
                    outputs.keys().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl WithheldReason {
    fn explain(self) -> &'static str {
        match self {
            Self::NotListed => {
                "not in disclosure.outputs (or, for a derived result, disclosure.derived); for a picked file, no raw \
                 output leaves unless the app names it there"
            }
            Self::TopKOnly => "disclosure.top_k_only",
            Self::TooLarge => "over disclosure.max_output_elements",
            Self::TooManyRows => "ranked rows past disclosure.max_rows (by default, the input's rows)",
            Self::OverBudget => "over disclosure.max_bits",
        }
    }
}

/// Rounds half away from zero to `decimals` places, or None for a value too large to carry
/// that many decimals in an f64: passing it on unrounded would leave more than the policy
/// says, so the caller fails the run instead.
fn round(value: f64, decimals: u32) -> Option<f64> {
    let scale = 10f64.powi(decimals as i32);
    let scaled = value * scale;
    if !scaled.is_finite() || scaled.abs() >= 2f64.powi(52) {
        return None;
    }
    Some(scaled.round() / scale)
}

fn round_in_place(value: &mut f64, decimals: u32) -> bool {
    round(*value, decimals).map(|r| *value = r).is_some()
}

fn round_all(values: &mut [f64], decimals: u32) -> bool {
    values.iter_mut().all(|v| round_in_place(v, decimals))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes() -> StaticSizes {
        StaticSizes(BTreeMap::from([("logits".to_string(), 10), ("probabilities".to_string(), 2)]))
    }

    const FACTS: Precision = Precision {
        decimals: None,
        ranking_probabilities: false,
        detection_probabilities: false,
        classes: 10,
        rows: 1,
    };

    fn tensor(n: usize) -> OutputTensor {
        OutputTensor { shape: vec![n], dtype: "float32".into(), data: (0..n).map(|i| i as f64 / 3.0).collect() }
    }

    fn outputs() -> BTreeMap<String, OutputTensor> {
        BTreeMap::from([("logits".to_string(), tensor(10)), ("probabilities".to_string(), tensor(2))])
    }

    fn ranked() -> Option<Vec<TopK>> {
        Some(vec![TopK { row: 0, index: 1, label: None, score: 0.123456789 }])
    }

    #[test]
    fn no_policy_lets_everything_leave_unchanged() {
        let d = Disclosure::default().apply(outputs(), ranked(), None, None, FACTS, &sizes()).unwrap();
        assert_eq!(d.outputs, outputs());
        assert_eq!(d.top_k, ranked());
        assert!(d.withheld.is_empty());
    }

    #[test]
    fn unlisted_outputs_are_withheld_and_named() {
        let policy = Disclosure { outputs: Some(vec!["probabilities".into()]), ..Default::default() };
        let d = policy.apply(outputs(), None, None, None, FACTS, &sizes()).unwrap();
        assert_eq!(d.outputs.keys().collect::<Vec<_>>(), ["probabilities"]);
        assert_eq!(
            d.withheld,
            [Withheld { output: "logits".into(), elements: Some(10), reason: WithheldReason::NotListed }]
        );
    }

    #[test]
    fn top_k_only_withholds_every_raw_output() {
        let policy = Disclosure { top_k_only: true, ..Default::default() };
        let d = policy.apply(outputs(), ranked(), None, None, FACTS, &sizes()).unwrap();
        assert!(d.outputs.is_empty());
        assert_eq!(d.withheld.len(), 2);
        assert!(d.withheld.iter().all(|w| w.reason == WithheldReason::TopKOnly));
    }

    #[test]
    fn top_k_only_without_a_ranking_is_an_error_not_an_empty_result() {
        let policy = Disclosure { top_k_only: true, ..Default::default() };
        let err = policy.apply(outputs(), None, None, None, FACTS, &sizes()).unwrap_err();
        assert_eq!(err.code(), "disclosure_empty");
        assert!(err.to_string().contains("postprocess.top_k"), "{err}");
    }

    #[test]
    fn rounding_applies_to_outputs_and_scores() {
        let policy = Disclosure { decimals: Some(2), ..Default::default() };
        let d = policy.apply(outputs(), ranked(), None, None, FACTS, &sizes()).unwrap();
        assert_eq!(d.outputs["probabilities"].data, [0.0, 0.33]);
        assert_eq!(d.top_k.unwrap()[0].score, 0.12);
    }

    #[test]
    fn a_value_that_cannot_be_rounded_fails_the_run_instead_of_leaving_unrounded() {
        assert_eq!(round(1e300, 3), None);
        assert_eq!(round(f64::NAN, 3), None);
        assert_eq!(round(-2.5, 0), Some(-3.0));
        let huge = BTreeMap::from([(
            "x".to_string(),
            OutputTensor { shape: vec![1], dtype: "float32".into(), data: vec![1e15] },
        )]);
        let policy = Disclosure { decimals: Some(2), ..Default::default() };
        assert_eq!(policy.apply(huge, None, None, None, FACTS, &sizes()).unwrap_err().code(), "disclosure_unroundable");
    }

    fn rows_ranked(rows: usize) -> Option<Vec<TopK>> {
        Some((0..rows).map(|row| TopK { row, index: row % 10, label: None, score: 0.5 }).collect())
    }

    #[test]
    fn a_ranking_covers_only_the_rows_the_input_has() {
        let policy = Disclosure { top_k_only: true, ..Default::default() };
        // One picture, one row: a model that ranks 1,024 rows (one per pixel) gets one out.
        let d = policy.apply(outputs(), rows_ranked(1024), None, None, FACTS, &sizes()).unwrap();
        assert_eq!(d.top_k.unwrap().len(), 1);
        assert!(d.withheld.contains(&Withheld {
            output: "top_k".into(),
            elements: Some(1023),
            reason: WithheldReason::TooManyRows
        }));
        let strict = Disclosure { top_k_only: true, on_violation: OnViolation::Error, ..Default::default() };
        assert_eq!(
            strict.apply(outputs(), rows_ranked(1024), None, None, FACTS, &sizes()).unwrap_err().code(),
            "disclosure_rows"
        );
        let app_set = Disclosure { top_k_only: true, max_rows: Some(4), ..Default::default() };
        assert_eq!(
            app_set.apply(outputs(), rows_ranked(1024), None, None, FACTS, &sizes()).unwrap().top_k.unwrap().len(),
            4
        );
    }

    #[test]
    fn ranked_entries_count_against_max_output_elements() {
        let policy = Disclosure {
            max_rows: Some(100),
            max_output_elements: Some(5),
            on_violation: OnViolation::Error,
            ..Default::default()
        };
        assert_eq!(
            policy.apply(outputs(), rows_ranked(6), None, None, FACTS, &sizes()).unwrap_err().code(),
            "disclosure_violation"
        );
    }

    #[test]
    fn max_bits_withholds_the_largest_outputs_then_fails() {
        // logits: 10 × 32 bits, probabilities: 2 × 32 bits.
        let policy = Disclosure { max_bits: Some(100), ..Default::default() };
        let d = policy.apply(outputs(), None, None, None, FACTS, &sizes()).unwrap();
        assert_eq!(d.outputs.keys().collect::<Vec<_>>(), ["probabilities"]);
        assert_eq!(d.bits, 64);
        assert_eq!(d.withheld[0].reason, WithheldReason::OverBudget);
        let tight = Disclosure { max_bits: Some(10), ..Default::default() };
        assert_eq!(
            tight.apply(outputs(), None, None, None, FACTS, &sizes()).unwrap_err().code(),
            "disclosure_over_budget"
        );
    }

    #[test]
    fn too_large_output_is_withheld_by_default() {
        let policy = Disclosure { max_output_elements: Some(5), ..Default::default() };
        let d = policy.apply(outputs(), None, None, None, FACTS, &sizes()).unwrap();
        assert_eq!(d.outputs.keys().collect::<Vec<_>>(), ["probabilities"]);
        assert_eq!(d.withheld[0].reason, WithheldReason::TooLarge);
    }

    #[test]
    fn too_large_output_fails_the_run_when_the_policy_says_error() {
        let policy =
            Disclosure { max_output_elements: Some(5), on_violation: OnViolation::Error, ..Default::default() };
        let err = policy.apply(outputs(), None, None, None, FACTS, &sizes()).unwrap_err();
        assert_eq!(err, EngineError::DisclosureViolation { output: "logits".into(), elements: 10, limit: 5 });
        assert_eq!(err.code(), "disclosure_violation");
    }

    #[test]
    fn everything_withheld_is_an_error_that_says_why() {
        let policy = Disclosure { outputs: Some(vec![]), ..Default::default() };
        let err = policy.apply(outputs(), None, None, None, FACTS, &sizes()).unwrap_err();
        assert_eq!(err.code(), "disclosure_empty");
        assert!(err.to_string().contains("\"logits\" (not in disclosure.outputs"), "{err}");
    }

    #[test]
    fn naming_an_output_the_model_lacks_is_an_error() {
        let policy = Disclosure { outputs: Some(vec!["probs".into()]), ..Default::default() };
        let err = policy.apply(outputs(), None, None, None, FACTS, &sizes()).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert!(err.to_string().contains("\"probabilities\""), "{err}");
    }

    #[test]
    fn policy_json_is_strict() {
        let parsed: Disclosure =
            serde_json::from_str(r#"{"outputs": ["p"], "decimals": 3, "on_violation": "error"}"#).unwrap();
        assert_eq!(parsed.on_violation, OnViolation::Error);
        assert!(serde_json::from_str::<Disclosure>(r#"{"derived": ["outputs"]}"#).is_err());
        assert!(serde_json::from_str::<Disclosure>(r#"{"output": ["p"]}"#).is_err());
    }

    fn softmax_step() -> Option<Derived<Vec<StepResult>>> {
        Some(Derived { value: vec![StepResult::Softmax { values: tensor(10) }], sources: vec!["logits".into()] })
    }

    #[test]
    fn only_outputs_that_leave_must_be_finite() {
        let mut with_nan = outputs();
        with_nan.get_mut("logits").unwrap().data[3] = f64::NAN;
        let named = Disclosure { outputs: Some(vec!["probabilities".into()]), ..Disclosure::default() };
        let d = named.apply(with_nan.clone(), None, None, None, FACTS, &sizes()).unwrap();
        assert_eq!(d.withheld[0].output, "logits");
        let err = Disclosure::default().apply(with_nan, None, None, None, FACTS, &sizes()).unwrap_err();
        assert_eq!(err.code(), "non_finite_output");
    }

    #[test]
    fn a_withheld_size_is_reported_only_where_the_model_fixes_it() {
        let named = Disclosure { outputs: Some(vec!["probabilities".into()]), ..Disclosure::default() };
        let d = named.apply(outputs(), None, None, None, FACTS, &StaticSizes::default()).unwrap();
        assert_eq!(d.withheld[0].elements, None);
    }

    #[test]
    fn derived_results_follow_their_sources() {
        // A softmax over "logits" reveals the logits: not listed, not sent.
        let listed = Disclosure { outputs: Some(vec!["probabilities".into()]), ..Disclosure::default() };
        let d = listed.apply(outputs(), None, softmax_step(), None, FACTS, &sizes()).unwrap();
        assert!(d.postprocessed.is_empty());
        let step = d.withheld.iter().find(|w| w.output == "postprocessed").expect("the step is listed as withheld");
        assert_eq!((step.elements, step.reason), (None, WithheldReason::NotListed));
        // top_k_only withholds them too; rounding reaches them when they leave.
        let only = Disclosure { top_k_only: true, ..Disclosure::default() };
        assert!(only
            .apply(outputs(), ranked(), softmax_step(), None, FACTS, &sizes())
            .unwrap()
            .postprocessed
            .is_empty());
        let rounded = Disclosure { decimals: Some(1), ..Disclosure::default() };
        let d = rounded.apply(outputs(), None, softmax_step(), None, FACTS, &sizes()).unwrap();
        let StepResult::Softmax { values } = &d.postprocessed[0] else { panic!("{d:?}") };
        assert_eq!(values.data[1], 0.3);
        // Too many numbers: withheld, or an error when the policy says so.
        let small = Disclosure { max_output_elements: Some(5), ..Disclosure::default() };
        assert!(small
            .apply(outputs(), ranked(), softmax_step(), None, FACTS, &sizes())
            .unwrap()
            .postprocessed
            .is_empty());
        let strict = Disclosure { on_violation: OnViolation::Error, ..small };
        let err = strict.apply(outputs(), ranked(), softmax_step(), None, FACTS, &sizes()).unwrap_err();
        assert_eq!(err.code(), "disclosure_violation");
    }

    fn detections() -> Option<Derived<Vec<Detection>>> {
        let face = Detection { score: 0.9, bbox: [1.0, 2.0, 3.0, 4.0], keypoints: vec![[1.5, 2.5]] };
        Some(Derived { value: vec![face], sources: vec!["logits".into(), "probabilities".into()] })
    }

    #[test]
    fn derived_lets_a_listed_result_leave_while_its_sources_stay() {
        let policy = Disclosure {
            outputs: Some(vec![]),
            derived: Some(vec![DerivedField::Detections]),
            max_output_elements: Some(7),
            ..Disclosure::default()
        };
        let d = policy.apply(outputs(), None, softmax_step(), detections(), FACTS, &sizes()).unwrap();
        assert!(d.outputs.is_empty(), "raw outputs stay: {d:?}");
        assert_eq!(d.detections.as_ref().map(Vec::len), Some(1));
        // The softmax is not listed in `derived`, so it stays although its sources' rule is moot.
        assert!(d.postprocessed.is_empty());
        let stayed: Vec<_> = d.withheld.iter().map(|w| (w.output.as_str(), w.reason)).collect();
        assert!(stayed.contains(&("postprocessed", WithheldReason::NotListed)), "{stayed:?}");
        // The size limit still holds for what `derived` lets leave: one face is 7 numbers.
        let tight = Disclosure { max_output_elements: Some(6), ..policy };
        let d = tight.apply(outputs(), None, None, detections(), FACTS, &sizes()).unwrap_err();
        assert_eq!(d.code(), "disclosure_empty");
    }
}
