use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::Tensor;

use super::concrete_dims;
use crate::{EngineError, Limits, TensorInfo};

/// Rows of numbers, one sample per row, fed as a `[rows, columns]` tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvPreprocess {
    /// Whether the first row names the columns (and so is not data).
    #[serde(default = "default_header")]
    pub header: bool,
    /// One ASCII character, such as `;` or a tab.
    #[serde(default = "default_delimiter")]
    #[schemars(extend("pattern" = "^[\\x00-\\x7f]$"))]
    pub delimiter: char,
    /// The header's columns to feed, in the model's feature order; other columns (an ID, a
    /// name) are ignored. All columns, in file order, when omitted. Needs `header: true`.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
}

fn default_header() -> bool {
    true
}

fn default_delimiter() -> char {
    ','
}

impl CsvPreprocess {
    pub(crate) fn apply(&self, bytes: &[u8], input: &TensorInfo, limits: &Limits) -> Result<Tensor, EngineError> {
        self.validate()?;
        let delimiter = u8::try_from(self.delimiter)
            .ok()
            .filter(u8::is_ascii)
            .ok_or_else(|| EngineError::InvalidRequest("preprocess.delimiter must be one ASCII character".into()))?;
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).flexible(true).from_reader(bytes);
        // Which file column feeds each feature, once the header is read.
        let mut picked: Option<Vec<usize>> = None;
        let mut data = Vec::new();
        let mut columns = None;
        let mut rows = 0;
        for (ix, record) in reader.records().enumerate() {
            // Rows are numbered from 1 as a spreadsheet shows them, header included.
            let row = ix + 1;
            let record = record.map_err(|e| EngineError::Csv { row, column: 0, message: e.to_string() })?;
            if ix == 0 && self.header {
                let header: Vec<String> = record.iter().map(|s| s.trim().to_string()).collect();
                picked = self.columns.as_ref().map(|names| pick(names, &header)).transpose()?;
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
            match (&picked, &self.columns) {
                (Some(picked), Some(names)) => {
                    for (&col, name) in picked.iter().zip(names) {
                        let cell = record.get(col).ok_or_else(|| EngineError::Csv {
                            row,
                            column: col + 1,
                            message: format!("the {name:?} cell is missing"),
                        })?;
                        data.push(parse_cell(cell, row, col, Some(name))?);
                    }
                }
                _ => {
                    for (col, cell) in record.iter().enumerate() {
                        data.push(parse_cell(cell, row, col, None)?);
                    }
                }
            }
            rows += 1;
            limits.check_tensor(&[rows, picked.as_ref().map_or(expected, Vec::len)])?;
        }
        let columns = columns.ok_or_else(|| EngineError::Preprocess("the CSV file has no data rows".into()))?;
        let columns = picked.as_ref().map_or(columns, Vec::len);
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

/// The file column of each named feature; a name the header lacks is an error naming it.
fn pick(names: &[String], header: &[String]) -> Result<Vec<usize>, EngineError> {
    names
        .iter()
        .map(|name| {
            header.iter().position(|h| h == name).ok_or_else(|| EngineError::Csv {
                row: 1,
                column: 0,
                message: format!("the header has no column {name:?}; check preprocess.columns against the file"),
            })
        })
        .collect()
}

/// Error messages leave the browser, so they never quote the file: not the cell's text, and
/// not a header name unless the app itself declared it (`declared`, from preprocess.columns).
fn parse_cell(cell: &str, row: usize, col: usize, declared: Option<&str>) -> Result<f32, EngineError> {
    let column = col + 1;
    let name = declared.map(|h| format!(" ({h:?})")).unwrap_or_default();
    let text = cell.trim();
    if text.is_empty() {
        return Err(EngineError::Csv { row, column, message: format!("the cell{name} is empty") });
    }
    match text.parse::<f32>() {
        Ok(value) if value.is_finite() => Ok(value),
        // Rust parses "NaN" and "inf"; a model fed those returns garbage, so refuse them.
        Ok(_) => Err(EngineError::Csv { row, column, message: format!("the cell{name} is NaN or infinite") }),
        Err(_) => Err(EngineError::Csv { row, column, message: format!("the cell{name} is not a number") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(shape: &[&str]) -> TensorInfo {
        TensorInfo { name: "x".into(), shape: shape.iter().map(|s| s.to_string()).collect(), dtype: "float32".into() }
    }

    fn csv(header: bool) -> CsvPreprocess {
        CsvPreprocess { header, delimiter: ',', columns: None }
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
        // Neither the cell's text nor the file's header name is quoted: messages leave the browser.
        assert_eq!(err, EngineError::Csv { row: 3, column: 2, message: "the cell is not a number".into() });
        let err = csv(false).apply(b"1,\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert!(matches!(err, EngineError::Csv { row: 1, column: 2, .. }));
        let err = csv(false).apply(b"1,NaN\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert_eq!(err, EngineError::Csv { row: 1, column: 2, message: "the cell is NaN or infinite".into() });
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

    #[test]
    fn columns_are_picked_by_name_in_config_order() {
        let config = CsvPreprocess { columns: Some(vec!["c".into(), "a".into()]), ..csv(true) };
        let t = config.apply(b"id,a,b,c\nx1,1,2,3\nx2,4,5,6\n", &info(&["N", "2"]), &Limits::default()).unwrap();
        assert_eq!(crate::tensor::f32s(&t), [3., 1., 6., 4.]);
        let err = config.apply(b"id,a,b\nx1,1,2\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert!(matches!(&err, EngineError::Csv { row: 1, message, .. } if message.contains("\"c\"")), "{err}");
        let err = config.apply(b"id,a,b,c\nx1,1,2,oops\n", &info(&["N", "2"]), &Limits::default()).unwrap_err();
        assert_eq!(err, EngineError::Csv { row: 2, column: 4, message: "the cell (\"c\") is not a number".into() });
        let no_header = CsvPreprocess { columns: Some(vec!["a".into()]), ..csv(false) };
        assert_eq!(
            no_header.apply(b"1\n", &info(&["N", "1"]), &Limits::default()).unwrap_err().code(),
            "invalid_request"
        );
    }
}
