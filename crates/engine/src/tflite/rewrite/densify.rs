//! DENSIFY of a sparse constant becomes the dense constant, as TFLite's FormatConverter
//! expands it: tract-tflite has no DENSIFY and no sparse tensors.

use std::borrow::Cow;

use tract_tflite::tflite::BuiltinOperator as B;

use crate::tflite::graph::{Graph, SparseLevel, Sparsity};
use crate::tflite::TfliteError;

pub(super) fn fold_constants(graph: &mut Graph) -> Result<(), TfliteError> {
    let ops = std::mem::take(&mut graph.ops);
    let mut kept = Vec::with_capacity(ops.len());
    for op in ops {
        let source = op.inputs.first().copied().filter(|&x| op.is(B::DENSIFY) && x >= 0);
        let Some((x, sparsity)) = source.and_then(|x| Some((x, graph.tensor(x).sparsity.clone()?))) else {
            kept.push(op);
            continue;
        };
        let def = graph.tensor(x).clone();
        let element = element_size(def.dtype)
            .ok_or_else(|| TfliteError::Unsupported("DENSIFY of a constant of this type".into()))?;
        let stored = graph.constant(x).unwrap_or(&[]);
        let dense = densify(&sparsity, &def.shape, stored, element)
            .ok_or_else(|| TfliteError::Invalid(format!("sparse constant {:?} is malformed", def.name)))?;
        graph.buffers.push(Cow::Owned(dense));
        let buffer = (graph.buffers.len() - 1) as u32;
        let dtype = def.dtype;
        let y = &mut graph.tensors[op.outputs[0] as usize];
        (y.buffer, y.dtype) = (buffer, dtype);
    }
    graph.ops = kept;
    Ok(())
}

fn element_size(dtype: tract_tflite::tflite::TensorType) -> Option<usize> {
    use tract_tflite::tflite::TensorType as T;
    match dtype {
        T::FLOAT32 | T::INT32 => Some(4),
        T::FLOAT16 | T::INT16 => Some(2),
        T::INT8 | T::UINT8 => Some(1),
        _ => None,
    }
}

/// Walks the traversal levels, placing each stored value at its dense position; `None` when
/// an index, a segment or the value count does not fit the shape.
fn densify(s: &Sparsity, shape: &[i32], stored: &[u8], element: usize) -> Option<Vec<u8>> {
    let rank = shape.len();
    let levels = s.levels.len();
    if s.traversal_order.len() != levels || levels != rank + s.block_map.len() {
        return None;
    }
    let block_sizes: Vec<usize> = (rank..levels)
        .map(|l| match s.levels[s.traversal_order.iter().position(|&t| t as usize == l)?] {
            SparseLevel::Dense(n) => usize::try_from(n).ok(),
            SparseLevel::Csr { .. } => None,
        })
        .collect::<Option<_>>()?;
    let total: usize = shape.iter().map(|&d| d as usize).product();
    let mut dense = vec![0u8; total.checked_mul(element)?];
    let mut walk = Walk { s, shape, block_sizes: &block_sizes, stored, element, dense: &mut dense, next: 0 };
    walk.level(&mut vec![0; levels], 0, 0)?;
    (walk.next * element == stored.len()).then_some(dense)
}

struct Walk<'a> {
    s: &'a Sparsity,
    shape: &'a [i32],
    block_sizes: &'a [usize],
    stored: &'a [u8],
    element: usize,
    dense: &'a mut [u8],
    /// Index of the next stored value.
    next: usize,
}

impl Walk<'_> {
    fn level(&mut self, indices: &mut Vec<usize>, level: usize, previous: usize) -> Option<()> {
        if level == indices.len() {
            return self.place(indices);
        }
        match &self.s.levels[level] {
            SparseLevel::Dense(n) => {
                let n = usize::try_from(*n).ok()?;
                for i in 0..n {
                    indices[level] = i;
                    self.level(indices, level + 1, previous.checked_mul(n)?.checked_add(i)?)?;
                }
            }
            SparseLevel::Csr { segments, indices: present } => {
                let (start, end) = (*segments.get(previous)? as usize, *segments.get(previous + 1)? as usize);
                for i in start..end {
                    indices[level] = *present.get(i)? as usize;
                    self.level(indices, level + 1, i)?;
                }
            }
        }
        Some(())
    }

    /// Maps traversal indices back to the dense position and copies one value there.
    fn place(&mut self, indices: &[usize]) -> Option<()> {
        let rank = self.shape.len();
        let mut expanded = vec![0usize; indices.len()];
        for (level, &dim) in self.s.traversal_order.iter().enumerate() {
            *expanded.get_mut(usize::try_from(dim).ok()?)? = indices[level];
        }
        let mut position = expanded[..rank].to_vec();
        for (k, &dim) in self.s.block_map.iter().enumerate() {
            let dim = usize::try_from(dim).ok()?;
            *position.get_mut(dim)? = position[dim] * self.block_sizes[k] + expanded[rank + k];
        }
        let mut flat = 0usize;
        for (&p, &d) in position.iter().zip(self.shape) {
            if p >= d as usize {
                return None;
            }
            flat = flat * d as usize + p;
        }
        let from = self.next * self.element;
        let value = self.stored.get(from..from + self.element)?;
        self.dense[flat * self.element..(flat + 1) * self.element].copy_from_slice(value);
        self.next += 1;
        Some(())
    }
}
