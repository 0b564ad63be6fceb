use serde::{Deserialize, Serialize};
use tract_onnx::prelude::Tensor;

use super::concrete_dims;
use crate::{EngineError, Limits, TensorInfo};

/// Rows of numbers, one sample per row, fed as a `[rows, columns]` tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvPreprocess {
    /// Whether the first row names the columns (and so is not data).
    #[serde(default = "default_header")]
    pub header: bool,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
}

fn default_header() -> bool {
    true
}

fn default_delimiter() -> char {
    ','
}

impl CsvPreprocess {
    pub(crate) fn apply(&self, bytes: &[u8], input: &TensorInfo, limits: &Limits) -> Result<Tensor, EngineError> {
        let delimiter = u8::try_from(self.delimiter)
            .ok()
            .filter(u8::is_ascii)
            .ok_or_else(|| EngineError::InvalidRequest("preprocess.delimiter must be one ASCII character".into()))?;
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).flexible(true).from_reader(bytes);
        let mut header: Vec<String> = Vec::new();
        let mut data = Vec::new();
        let mut columns = None;
        let mut rows = 0;
        for (ix, record) in reader.records().enumerate() {
            // Rows are numbered from 1 as a spreadsheet shows them, header included.
            let row = ix + 1;
            let record = record.map_err(|e| EngineError::Csv { row, column: 0, message: e.to_string() })?;
            if ix == 0 && self.header {
                header = record.iter().map(|s| s.trim().to_string()).collect();
                continue;
            }
            if record.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            let expected = *columns.get_or_insert(record.len());
            if record.len() != expected {
                return Err(EngineError::Csv {
                    row,
                    column: record.len().min(expected) + 1,
                    message: format!("this row has {} cells, the first data row has {expected}", record.len()),
                });
            }
            for (col, cell) in record.iter().enumerate() {
                data.push(parse_cell(cell, row, col, &header)?);
            }
            rows += 1;
            limits.check_tensor(&[rows, expected])?;
        }
        let columns = columns.ok_or_else(|| EngineError::Preprocess("the CSV file has no data rows".into()))?;
        if let Some(Some(want)) = concrete_dims(input).get(1) {
            if *want != columns {
                return Err(EngineError::Preprocess(format!(
                    "the CSV rows have {columns} columns, but input {:?} expects {want} features (shape [{}])",
                    input.name,
                    input.shape.join(", ")
                )));
            }
        }
        Tensor::from_shape(&[rows, columns], &data).map_err(|e| EngineError::Preprocess(crate::error::chain(&e)))
    }
}

fn parse_cell(cell: &str, row: usize, col: usize, header: &[String]) -> Result<f32, EngineError> {
    let column = col + 1;
    let name = header.get(col).map(|h| format!(" ({h:?})")).unwrap_or_default();
    let text = cell.trim();
    if text.is_empty() {
        return Err(EngineError::Csv { row, column, message: format!("the cell{name} is empty") });
    }
    match text.parse::<f32>() {
        // Rust parses "NaN" and "inf"; a model fed those returns garbage, so refuse them.
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(EngineError::Csv { row, column, message: format!("{text:?}{name} is not a finite number") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(shape: &[&str]) -> TensorInfo {
        TensorInfo { name: "x".into(), shape: shape.iter().map(|s| s.to_string()).collect(), dtype: "float32".into() }
    }

    fn csv(header: bool) -> CsvPreprocess {
        CsvPreprocess { header, delimiter: ',' }
    }

    #[test]
    fn rows_become_a_batch() {
        let t = csv(true).apply(b"a,b\n1,2\n3,4.5\n\n", &info(&["N", "2"]), &Limits::default()).unwrap();
        assert_eq!(t.shape(), &[2, 2]);
        assert_eq!(crate::tensor::f32s(&t), [1., 2., 3., 4.5]);
    }

    #[test]
    fn bad_cells_name_row_and_column() {
        let err = csv(true).apply(b"a,b\n1,2\n3,x\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert_eq!(err, EngineError::Csv { row: 3, column: 2, message: "\"x\" (\"b\") is not a finite number".into() });
        let err = csv(false).apply(b"1,\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert!(matches!(err, EngineError::Csv { row: 1, column: 2, .. }));
        let err = csv(false).apply(b"1,NaN\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "csv");
    }

    #[test]
    fn ragged_rows_and_wrong_width_are_refused() {
        let err = csv(false).apply(b"1,2\n3\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert!(matches!(err, EngineError::Csv { row: 2, .. }));
        let err = csv(false).apply(b"1,2,3\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "preprocess");
        let err = csv(true).apply(b"a,b\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "preprocess");
    }
}
