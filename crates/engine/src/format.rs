use serde::Serialize;

use crate::EngineError;

/// What a byte buffer holds, judged from its content: a user's file extension says little.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    Onnx,
    Tflite,
    TfjsJson,
    Unknown,
}

/// Sniffs the model format from magic bytes.
pub fn sniff(bytes: &[u8]) -> ModelFormat {
    // A TFLite flatbuffer carries its file identifier right after the root table offset.
    if bytes.len() >= 8 && &bytes[4..8] == b"TFL3" {
        return ModelFormat::Tflite;
    }
    let text_start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    if text_start.map(|i| bytes[i]) == Some(b'{') {
        return ModelFormat::TfjsJson;
    }
    // An ONNX ModelProto is a protobuf whose first field is `ir_version` (field 1, varint),
    // so it starts with the tag byte 0x08 followed by a small version number.
    if bytes.len() >= 2 && bytes[0] == 0x08 && (1..=32).contains(&bytes[1]) {
        return ModelFormat::Onnx;
    }
    ModelFormat::Unknown
}

impl ModelFormat {
    /// Fails with an actionable message for every format this engine cannot load.
    pub(crate) fn require_loadable(self) -> Result<(), EngineError> {
        let message = match self {
            Self::Onnx | Self::Tflite => return Ok(()),
            Self::TfjsJson => {
                "this looks like a TensorFlow.js model.json, which this engine cannot load. Convert it to ONNX: \
                a layers model with `tensorflowjs_converter --input_format=tfjs_layers_model \
                --output_format=keras_saved_model model.json saved_model/` and then \
                `python -m tf2onnx.convert --saved-model saved_model --output model.onnx`; \
                a graph model by running tf2onnx on the TensorFlow SavedModel it was made from"
            }
            Self::Unknown => {
                "the bytes are neither an ONNX model (no protobuf header) nor a TFLite one (no TFL3 identifier); \
                check that the path points at the model file itself"
            }
        };
        Err(EngineError::UnsupportedFormat(message.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(&[0x08, 0x07, 0x12, 0x00]), ModelFormat::Onnx);
        assert_eq!(sniff(b"\x1c\x00\x00\x00TFL3\x00\x00"), ModelFormat::Tflite);
        assert_eq!(sniff(b"  {\"format\": \"graph-model\"}"), ModelFormat::TfjsJson);
        assert_eq!(sniff(b"\x89PNG\r\n"), ModelFormat::Unknown);
        assert_eq!(sniff(b""), ModelFormat::Unknown);
    }

    #[test]
    fn unloadable_formats_explain_themselves() {
        let err = ModelFormat::TfjsJson.require_loadable().unwrap_err();
        assert_eq!(err.code(), "unsupported_format");
        assert!(err.to_string().contains("tf2onnx"));
    }
}
