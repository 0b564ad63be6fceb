use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::EngineError;

/// Resource ceilings, checked before the work that would exceed them starts, so that a
/// hostile or mistaken input ends in a typed error instead of an out-of-memory crash of the
/// browser tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    #[schemars(range(min = 1))]
    pub max_model_bytes: usize,
    #[schemars(range(min = 1))]
    pub max_input_bytes: usize,
    #[schemars(range(min = 1))]
    pub max_image_pixels: u64,
    #[schemars(range(min = 1))]
    pub max_tensor_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // A 32-bit wasm heap tops out at 4 GiB; the model is held twice while loading.
            max_model_bytes: 1 << 30,
            max_input_bytes: 256 << 20,
            max_image_pixels: 50_000_000,
            max_tensor_elements: 64 << 20,
        }
    }
}

impl Limits {
    pub fn check_model_bytes(&self, size: usize) -> Result<(), EngineError> {
        if size > self.max_model_bytes {
            return Err(EngineError::ModelTooLarge { size, limit: self.max_model_bytes });
        }
        Ok(())
    }

    pub fn check_input_bytes(&self, size: usize) -> Result<(), EngineError> {
        if size > self.max_input_bytes {
            return Err(EngineError::InputTooLarge { size, limit: self.max_input_bytes });
        }
        Ok(())
    }

    pub fn check_image(&self, width: u32, height: u32) -> Result<(), EngineError> {
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_image_pixels {
            return Err(EngineError::ImageTooLarge { width, height, pixels, limit: self.max_image_pixels });
        }
        Ok(())
    }

    pub fn check_tensor(&self, shape: &[usize]) -> Result<usize, EngineError> {
        let elements = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        match elements {
            Some(n) if n <= self.max_tensor_elements => Ok(n),
            _ => Err(EngineError::TensorTooLarge {
                shape: shape.to_vec(),
                elements: elements.unwrap_or(usize::MAX),
                limit: self.max_tensor_elements,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflowing_shape_is_rejected_not_wrapped() {
        let err = Limits::default().check_tensor(&[usize::MAX, 2]).unwrap_err();
        assert_eq!(err.code(), "tensor_too_large");
    }

    #[test]
    fn image_pixels_are_counted_in_64_bits() {
        let limits = Limits { max_image_pixels: 100, ..Limits::default() };
        assert!(limits.check_image(10, 10).is_ok());
        assert_eq!(limits.check_image(65_536, 65_536).unwrap_err().code(), "image_too_large");
    }
}
