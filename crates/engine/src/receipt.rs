//! The privacy receipt every result carries: what left the browser, how big it was, which
//! model produced it, and a keyed hash of the input.
//!
//! The input hash is HMAC-SHA256 (over the input's kind, a tensor's shape and the SHA-256 of
//! the content) under a 256-bit key drawn from the platform's CSPRNG when a
//! [`Session`](crate::Session) loads; in the browser that is `crypto.getRandomValues` inside
//! the engine's Worker, and the key lives only in the Worker's wasm memory. It is never
//! serialized, so it can neither reach Python nor be logged. Why the hash cannot be reversed:
//! - SHA-256 is preimage-resistant, and the HMAC hides even a short or guessable input (one
//!   CSV row, a small image): without the key, no one can test a guess against the hash.
//! - The key dies with the session; not even the browser can recompute a hash afterwards.
//!
//! Within one session the same input gives the same hash, so an app can tell a repeated
//! input from a new one; across sessions hashes cannot be linked.

use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::disclosure::Disclosed;
use crate::request::SHA256_HEX;
use crate::{EngineError, InputSpec, Timings, Withheld};

/// The per-session secret of the input hash. Its `Debug` never shows the bytes.
pub(crate) struct ReceiptKey([u8; 32]);

impl ReceiptKey {
    pub(crate) fn generate() -> Result<Self, EngineError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| EngineError::Randomness(e.to_string()))?;
        Ok(Self(key))
    }

    /// HMAC-SHA256 of the input: the kind (so a file and a tensor never share a hash), a
    /// tensor's shape, and the SHA-256 of the content (the picked file's bytes as read, or a
    /// tensor's values as f64, little-endian); of several inputs, each in order.
    ///
    /// `content` is that SHA-256 for a single file or tensor input when the caller has it
    /// already: the Worker asks the browser's SHA-256, several times faster than this build's
    /// (measured: 13-14 ms of a 224x224 tensor run in Chromium went to hashing here). It keys
    /// nothing by itself: without the HMAC key it cannot be tested against a guess either.
    pub(crate) fn input_digest(
        &self,
        input: &InputSpec,
        file: Option<&[u8]>,
        content: Option<&ContentSha256>,
    ) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        feed(&mut mac, input, file, content);
        hex(&mac.finalize().into_bytes())
    }
}

/// The SHA-256 of an input's content, as [`ReceiptKey::input_digest`] defines it.
pub type ContentSha256 = [u8; 32];

/// A tensor's values as f64, little-endian, hashed in blocks rather than value by value.
pub(crate) fn tensor_content_sha256(values: &[f64]) -> ContentSha256 {
    let mut hasher = Sha256::new();
    let mut block = [0u8; 8 * 512];
    for chunk in values.chunks(512) {
        for (bytes, value) in block.chunks_exact_mut(8).zip(chunk) {
            bytes.copy_from_slice(&value.to_le_bytes());
        }
        hasher.update(&block[..8 * chunk.len()]);
    }
    hasher.finalize().into()
}

fn feed(mac: &mut Hmac<Sha256>, input: &InputSpec, file: Option<&[u8]>, content: Option<&ContentSha256>) {
    match input {
        InputSpec::File { .. } => {
            mac.update(b"ssc-input:file\0");
            mac.update(&content.copied().unwrap_or_else(|| Sha256::digest(file.unwrap_or_default()).into()));
        }
        InputSpec::Tensor(tensor) => {
            mac.update(b"ssc-input:tensor\0");
            mac.update(&(tensor.shape.len() as u64).to_le_bytes());
            tensor.shape.iter().for_each(|d| mac.update(&(*d as u64).to_le_bytes()));
            mac.update(&content.copied().unwrap_or_else(|| tensor_content_sha256(&tensor.data)));
        }
        InputSpec::Multiple { inputs } => {
            mac.update(b"ssc-input:multiple\0");
            mac.update(&(inputs.len() as u64).to_le_bytes());
            inputs.iter().for_each(|input| feed(mac, input, file, None));
        }
    }
}

impl std::fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReceiptKey(<secret>)")
    }
}

/// What left the browser with one result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The sha256 of the model bytes the engine ran.
    #[schemars(regex(pattern = SHA256_HEX))]
    pub model_sha256: String,
    pub input_kind: InputKind,
    /// HMAC-SHA256 of the input under the session's secret key, hex.
    #[schemars(regex(pattern = SHA256_HEX))]
    pub input_hmac_sha256: String,
    /// Every data field of the result, with its size.
    pub sent: Vec<SentField>,
    /// What the disclosure policy kept in the browser; `elements` counts numbers, as
    /// `max_output_elements` does.
    pub withheld: Vec<Withheld>,
    /// An upper bound on the information the sent fields carry about the input, in bits
    /// (how it is computed: `budget.rs`, docs/disclosure.md).
    pub bits: u64,
}

/// One field of the result as it left: `outputs` (with the output's name; `elements` counts
/// its values), `top_k`, `postprocessed` or `detections` (`elements` counts their entries:
/// classes, steps, detections) or `timings_ms` (its stages); and the bytes of its JSON encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentField {
    pub field: ResultField,
    #[schemars(required, extend("type" = ["string", "null"]))]
    pub name: Option<String>,
    pub elements: usize,
    pub bytes: usize,
}

/// Where the input came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// The person's file, which stays in the browser.
    File,
    /// Numbers the app supplied.
    Tensor,
    /// Several inputs.
    Multiple,
}

/// A data field of a result, as a receipt names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultField {
    Outputs,
    TopK,
    Postprocessed,
    Detections,
    DicomAttributes,
    TimingsMs,
}

impl Receipt {
    pub(crate) fn new(
        model_sha256: &str,
        input: &InputSpec,
        input_hmac_sha256: String,
        disclosed: &Disclosed,
        timings: &Timings,
    ) -> Result<Self, EngineError> {
        let mut sent = Vec::new();
        for (name, tensor) in &disclosed.outputs {
            sent.push(SentField {
                field: ResultField::Outputs,
                name: Some(name.clone()),
                elements: tensor.data.len(),
                bytes: json_bytes(tensor)?,
            });
        }
        if let Some(ranked) = &disclosed.top_k {
            sent.push(SentField {
                field: ResultField::TopK,
                name: None,
                elements: ranked.len(),
                bytes: json_bytes(ranked)?,
            });
        }
        if !disclosed.postprocessed.is_empty() {
            sent.push(SentField {
                field: ResultField::Postprocessed,
                name: None,
                elements: disclosed.postprocessed.len(),
                bytes: json_bytes(&disclosed.postprocessed)?,
            });
        }
        if let Some(detections) = &disclosed.detections {
            sent.push(SentField {
                field: ResultField::Detections,
                name: None,
                elements: detections.len(),
                bytes: json_bytes(detections)?,
            });
        }
        if let Some(attributes) = &disclosed.dicom_attributes {
            sent.push(SentField {
                field: ResultField::DicomAttributes,
                name: None,
                elements: attributes.len(),
                bytes: json_bytes(attributes)?,
            });
        }
        // One number per stage; counted from the struct so a new stage cannot go unlisted.
        let stages = serde_json::to_value(timings).ok().and_then(|v| v.as_object().map(|o| o.len())).unwrap_or(0);
        sent.push(SentField {
            field: ResultField::TimingsMs,
            name: None,
            elements: stages,
            bytes: json_bytes(timings)?,
        });
        Ok(Self {
            model_sha256: model_sha256.to_string(),
            input_kind: match input {
                InputSpec::File { .. } => InputKind::File,
                InputSpec::Tensor(_) => InputKind::Tensor,
                InputSpec::Multiple { .. } => InputKind::Multiple,
            },
            input_hmac_sha256,
            sent,
            withheld: disclosed.withheld.clone(),
            bits: disclosed.bits,
        })
    }
}

fn json_bytes<T: Serialize>(value: &T) -> Result<usize, EngineError> {
    serde_json::to_vec(value)
        .map(|v| v.len())
        .map_err(|e| EngineError::Postprocess(format!("the result cannot be encoded as JSON: {e}")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{NamedTensor, OutputTensor, TopK};

    fn file_input() -> InputSpec {
        serde_json::from_str::<InputSpec>(r#"{"kind": "file", "preprocess": {"kind": "csv"}}"#).unwrap()
    }

    #[test]
    fn input_digest_is_rfc_hmac_sha256() {
        // RFC 4231 test case 2 has a 4-byte key; ours are 32 bytes, so check against the
        // definition instead: HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), where m is the
        // kind's prefix and the SHA-256 of the file.
        let key = ReceiptKey([7u8; 32]);
        let file = b"age,weight\n41,70\n";
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&key.0);
        let inner: Vec<u8> = block
            .iter()
            .map(|b| b ^ 0x36)
            .chain(b"ssc-input:file\0".iter().copied())
            .chain(Sha256::digest(file))
            .collect();
        let outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).chain(Sha256::digest(&inner).iter().copied()).collect();
        assert_eq!(key.input_digest(&file_input(), Some(file), None), hex(&Sha256::digest(&outer)));
    }

    #[test]
    fn a_content_digest_given_by_the_caller_stands_for_the_content() {
        let key = ReceiptKey([3u8; 32]);
        let file = b"age,weight\n41,70\n";
        let given: ContentSha256 = Sha256::digest(file).into();
        assert_eq!(
            key.input_digest(&file_input(), Some(file), Some(&given)),
            key.input_digest(&file_input(), Some(file), None)
        );
        let tensor =
            InputSpec::Tensor(NamedTensor { name: None, shape: vec![3], data: vec![1.0, -2.5, 1e300], dtype: None });
        let bytes: Vec<u8> = [1.0f64, -2.5, 1e300].iter().flat_map(|v| v.to_le_bytes()).collect();
        let given: ContentSha256 = Sha256::digest(&bytes).into();
        assert_eq!(tensor_content_sha256(&[1.0, -2.5, 1e300]), given);
        assert_eq!(key.input_digest(&tensor, None, Some(&given)), key.input_digest(&tensor, None, None));
        let many: Vec<f64> = (0..1500).map(f64::from).collect();
        let bytes: Vec<u8> = many.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(tensor_content_sha256(&many), <ContentSha256>::from(Sha256::digest(&bytes)));
    }

    #[test]
    fn digest_depends_on_key_and_input_but_not_on_chance() {
        let (a, b) = (ReceiptKey::generate().unwrap(), ReceiptKey::generate().unwrap());
        let input = file_input();
        assert_eq!(a.input_digest(&input, Some(b"x"), None), a.input_digest(&input, Some(b"x"), None));
        assert_ne!(a.input_digest(&input, Some(b"x"), None), a.input_digest(&input, Some(b"y"), None));
        assert_ne!(a.input_digest(&input, Some(b"x"), None), b.input_digest(&input, Some(b"x"), None));
    }

    #[test]
    fn tensor_digest_covers_shape_and_values() {
        let key = ReceiptKey([1u8; 32]);
        let t =
            |shape: Vec<usize>, data: Vec<f64>| InputSpec::Tensor(NamedTensor { name: None, shape, data, dtype: None });
        let base = key.input_digest(&t(vec![1, 2], vec![1.0, 2.0]), None, None);
        assert_ne!(base, key.input_digest(&t(vec![2, 1], vec![1.0, 2.0]), None, None));
        assert_ne!(base, key.input_digest(&t(vec![1, 2], vec![1.0, 2.5]), None, None));
    }

    #[test]
    fn key_is_not_printed() {
        assert_eq!(format!("{:?}", ReceiptKey([9u8; 32])), "ReceiptKey(<secret>)");
    }

    #[test]
    fn sent_fields_have_counts_and_json_sizes() {
        let tensor = OutputTensor { shape: vec![2], dtype: "float32".into(), data: vec![0.5, 0.25] };
        let ranked = vec![TopK { row: 0, index: 0, label: Some("a".into()), score: 0.5 }];
        let disclosed = Disclosed {
            outputs: BTreeMap::from([("p".to_string(), tensor.clone())]),
            top_k: Some(ranked.clone()),
            postprocessed: vec![],
            detections: None,
            withheld: vec![],
            dicom_attributes: None,
            bits: 70,
        };
        let receipt = Receipt::new("ab", &file_input(), "cd".into(), &disclosed, &Timings::default()).unwrap();
        assert_eq!(receipt.bits, 70);
        let sizes: Vec<_> = receipt.sent.iter().map(|f| (f.field, f.name.as_deref(), f.elements)).collect();
        assert_eq!(
            sizes,
            [(ResultField::Outputs, Some("p"), 2), (ResultField::TopK, None, 1), (ResultField::TimingsMs, None, 4)]
        );
        assert_eq!(receipt.sent[0].bytes, serde_json::to_string(&tensor).unwrap().len());
        assert_eq!(receipt.sent[1].bytes, r#"[{"row":0,"index":0,"label":"a","score":0.5}]"#.len());
    }
}
