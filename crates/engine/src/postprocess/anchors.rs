//! SSD anchors generated from their options, as MediaPipe's SsdAnchorsCalculator does, so an
//! app declares a detector's anchor layout instead of shipping thousands of coordinates.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::EngineError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SsdAnchors {
    /// `[width, height]` of the model input the anchors tile.
    #[schemars(inner(range(min = 1)))]
    pub input_size: [u32; 2],
    #[schemars(range(min = 1))]
    pub num_layers: usize,
    pub min_scale: f64,
    pub max_scale: f64,
    /// One stride per layer; consecutive layers with the same stride share one grid.
    #[schemars(inner(range(min = 1)))]
    pub strides: Vec<u32>,
    #[schemars(extend("items" = {"type": "number", "exclusiveMinimum": 0}))]
    pub aspect_ratios: Vec<f64>,
    /// Anchor centre within its grid cell, `[x, y]`.
    #[serde(default = "half")]
    pub offset: [f64; 2],
    /// Adds an anchor per layer at the geometric mean of this and the next scale (0: none).
    #[serde(default)]
    pub interpolated_scale_aspect_ratio: f64,
    /// Anchors of size 1x1: the model regresses absolute sizes (BlazeFace does).
    #[serde(default)]
    pub fixed_anchor_size: bool,
}

fn half() -> [f64; 2] {
    [0.5, 0.5]
}

/// An anchor in normalized input coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Anchor {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl SsdAnchors {
    fn scale(&self, layer: usize) -> f64 {
        if self.num_layers == 1 {
            (self.min_scale + self.max_scale) / 2.0
        } else {
            self.min_scale + (self.max_scale - self.min_scale) * layer as f64 / (self.num_layers - 1) as f64
        }
    }

    pub(crate) fn generate(&self) -> Result<Vec<Anchor>, EngineError> {
        // The layer loop below indexes `strides` by layer: never without the request's checks.
        self.validate()?;
        let mut anchors = Vec::new();
        let mut layer = 0;
        while layer < self.num_layers {
            let mut shapes = Vec::new();
            let mut last = layer;
            while last < self.num_layers && self.strides[last] == self.strides[layer] {
                shapes.extend(self.aspect_ratios.iter().map(|&r| (self.scale(last), r)));
                if self.interpolated_scale_aspect_ratio > 0.0 {
                    let next = if last == self.num_layers - 1 { 1.0 } else { self.scale(last + 1) };
                    shapes.push(((self.scale(last) * next).sqrt(), self.interpolated_scale_aspect_ratio));
                }
                last += 1;
            }
            let stride = self.strides[layer];
            let rows = self.input_size[1].div_ceil(stride) as usize;
            let cols = self.input_size[0].div_ceil(stride) as usize;
            for y in 0..rows {
                for x in 0..cols {
                    for &(scale, ratio) in &shapes {
                        let (w, h) = if self.fixed_anchor_size {
                            (1.0, 1.0)
                        } else {
                            (scale * ratio.sqrt(), scale / ratio.sqrt())
                        };
                        anchors.push(Anchor {
                            x: (x as f64 + self.offset[0]) / cols as f64,
                            y: (y as f64 + self.offset[1]) / rows as f64,
                            w,
                            h,
                        });
                    }
                }
            }
            layer = last;
        }
        Ok(anchors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MediaPipe's face_detection_short_range options.
    pub(crate) fn blazeface() -> SsdAnchors {
        SsdAnchors {
            input_size: [128, 128],
            num_layers: 4,
            min_scale: 0.1484375,
            max_scale: 0.75,
            strides: vec![8, 16, 16, 16],
            aspect_ratios: vec![1.0],
            offset: [0.5, 0.5],
            interpolated_scale_aspect_ratio: 1.0,
            fixed_anchor_size: true,
        }
    }

    #[test]
    fn blazeface_short_range_has_896_anchors_in_two_grids() {
        let anchors = blazeface().generate().unwrap();
        assert_eq!(anchors.len(), 896);
        // 16x16 cells with 2 anchors each, then 8x8 cells with 6.
        assert_eq!(anchors[0], Anchor { x: 0.5 / 16.0, y: 0.5 / 16.0, w: 1.0, h: 1.0 });
        assert_eq!(anchors[2].x, 1.5 / 16.0);
        assert_eq!(anchors[512], Anchor { x: 0.5 / 8.0, y: 0.5 / 8.0, w: 1.0, h: 1.0 });
        assert_eq!(anchors[895].x, 7.5 / 8.0);
    }

    #[test]
    fn anchor_sizes_follow_scale_and_ratio() {
        let options = SsdAnchors {
            num_layers: 1,
            strides: vec![64],
            aspect_ratios: vec![4.0],
            interpolated_scale_aspect_ratio: 0.0,
            fixed_anchor_size: false,
            ..blazeface()
        };
        let anchors = options.generate().unwrap();
        assert_eq!(anchors.len(), 4);
        let scale = (0.1484375 + 0.75) / 2.0;
        assert!((anchors[0].w - scale * 2.0).abs() < 1e-12 && (anchors[0].h - scale / 2.0).abs() < 1e-12);
    }

    #[test]
    fn inconsistent_options_are_rejected() {
        let options = SsdAnchors { strides: vec![8], ..blazeface() };
        assert_eq!(options.generate().unwrap_err().code(), "invalid_request");
    }
}
