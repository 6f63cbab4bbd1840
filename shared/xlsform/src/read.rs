//! Reading a workbook within bounds: the zip is measured (entries, unzipped bytes) before calamine opens it,
//! and sheets are read cell by cell (never as a dense range a hostile `XFD1048576` cell would blow up), with
//! rows, columns, cells and text length counted as they come.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};

use crate::{ImportError, Place, Problem};

/// How much of a workbook is read before it is refused. The defaults are far above any real form (the DTSEN
/// ground check is about 700 rows over three sheets and 60 KB) and far below what would hurt the machine.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The `.xlsx` file itself.
    pub max_file_bytes: u64,
    /// Everything inside the zip, unzipped, together (a zip bomb stops here).
    pub max_unzipped_bytes: u64,
    /// Files inside the zip.
    pub max_zip_entries: usize,
    /// Rows of one sheet (the header included).
    pub max_rows: u32,
    /// Columns of one sheet.
    pub max_columns: u32,
    /// Non-empty cells of the workbook's three sheets together.
    pub max_cells: u64,
    /// Characters of one cell.
    pub max_cell_chars: usize,
    /// Groups and repeats open inside each other.
    pub max_nesting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 8 * 1024 * 1024,
            max_unzipped_bytes: 32 * 1024 * 1024,
            max_zip_entries: 1_000,
            max_rows: 20_000,
            max_columns: 300,
            max_cells: 500_000,
            max_cell_chars: 20_000,
            max_nesting: 16,
        }
    }
}

/// One row of a sheet: its number as a spreadsheet shows it (1-based) and its non-empty cells by column.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub number: u32,
    pub cells: BTreeMap<u32, String>,
}

/// A sheet: its header row (column → header text) and the rows below it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sheet {
    pub name: String,
    pub headers: BTreeMap<u32, String>,
    pub rows: Vec<Row>,
}

/// The sheets an XLSForm is made of, as read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workbook {
    pub survey: Option<Sheet>,
    pub choices: Option<Sheet>,
    pub settings: Option<Sheet>,
    /// Cells that could not be read as text (dates, spreadsheet errors), and sheets Tepat cannot carry.
    pub problems: Vec<Problem>,
}

/// The spreadsheet letter of a 0-based column: 0 → `A`, 27 → `AB`.
pub(crate) fn column_letter(mut col: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn too_large(what: impl Into<String>, limit: u64) -> ImportError {
    ImportError::TooLarge {
        what: what.into(),
        limit,
    }
}

/// Measures the zip before anything parses it: the number of entries, the sizes they declare, and then the
/// bytes they really unzip to (a declared size can lie), stopping as soon as the total passes the limit.
fn measure_zip(bytes: &[u8], limits: &Limits) -> Result<(), ImportError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ImportError::Unreadable(e.to_string()))?;
    if archive.len() > limits.max_zip_entries {
        return Err(too_large(
            format!("the number of files inside the .xlsx ({})", archive.len()),
            limits.max_zip_entries as u64,
        ));
    }
    let mut declared = 0u64;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| ImportError::Unreadable(e.to_string()))?;
        declared = declared.saturating_add(entry.size());
    }
    if declared > limits.max_unzipped_bytes {
        return Err(too_large(
            format!("the unzipped size the .xlsx declares ({declared} bytes)"),
            limits.max_unzipped_bytes,
        ));
    }
    let mut total = 0u64;
    let mut sink = std::io::sink();
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| ImportError::Unreadable(e.to_string()))?;
        let name = entry.name().to_string();
        let allowance = limits.max_unzipped_bytes - total;
        let read = std::io::copy(&mut entry.take(allowance + 1), &mut sink)
            .map_err(|e| ImportError::Unreadable(format!("{name}: {e}")))?;
        total += read;
        if total > limits.max_unzipped_bytes {
            return Err(too_large(
                format!("the unzipped content (at {name})"),
                limits.max_unzipped_bytes,
            ));
        }
    }
    Ok(())
}

/// A cell as text: numbers as written (`1`, not `1.0`), booleans `true` / `false`. Dates and spreadsheet
/// errors are not text an XLSForm means; they are problems.
fn cell_text(value: &DataRef<'_>) -> Result<Option<String>, String> {
    Ok(match value {
        DataRef::Empty => None,
        DataRef::String(s) => Some(s.clone()),
        DataRef::SharedString(s) => Some((*s).to_string()),
        DataRef::Int(i) => Some(i.to_string()),
        DataRef::Float(f) => Some(number_text(*f)),
        DataRef::Bool(b) => Some(b.to_string()),
        DataRef::DateTime(_) | DataRef::DateTimeIso(_) | DataRef::DurationIso(_) => {
            return Err("a date or time cell: write it as text".to_string());
        }
        DataRef::Error(e) => return Err(format!("the cell holds a spreadsheet error ({e})")),
    })
}

/// A number cell as an author wrote it: whole numbers without a fraction.
fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Reads the XLSForm sheets of a workbook, within `limits`.
pub(crate) fn workbook(bytes: &[u8], limits: &Limits) -> Result<Workbook, ImportError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(too_large(
            format!("the file ({} bytes)", bytes.len()),
            limits.max_file_bytes,
        ));
    }
    measure_zip(bytes, limits)?;
    let mut xlsx: Xlsx<Cursor<&[u8]>> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| ImportError::Unreadable(e.to_string()))?;
    let mut book = Workbook::default();
    let mut cells = 0u64;
    for name in xlsx.sheet_names() {
        let key = name.trim().to_lowercase();
        match key.as_str() {
            "survey" | "choices" | "settings" => {}
            "external_choices" | "entities" => {
                book.problems.push(Problem {
                    place: Place {
                        sheet: name.clone(),
                        row: None,
                        column: None,
                    },
                    message: format!(
                        "the `{key}` sheet is not supported: Tepat forms carry their choices and no entities"
                    ),
                });
                continue;
            }
            _ => continue,
        }
        let sheet = read_sheet(&mut xlsx, &name, limits, &mut cells, &mut book.problems)?;
        let slot = match key.as_str() {
            "survey" => &mut book.survey,
            "choices" => &mut book.choices,
            _ => &mut book.settings,
        };
        if slot.is_some() {
            book.problems.push(Problem {
                place: Place {
                    sheet: name.clone(),
                    row: None,
                    column: None,
                },
                message: format!("a second `{key}` sheet"),
            });
        } else {
            *slot = Some(sheet);
        }
    }
    Ok(book)
}

fn read_sheet(
    xlsx: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    limits: &Limits,
    cells: &mut u64,
    problems: &mut Vec<Problem>,
) -> Result<Sheet, ImportError> {
    let mut reader = xlsx
        .worksheet_cells_reader(name)
        .map_err(|e| ImportError::Unreadable(format!("sheet {name}: {e}")))?;
    // Rows by their 0-based index; the first row with any cell is the header.
    let mut rows: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| ImportError::Unreadable(format!("sheet {name}: {e}")))?
    {
        let (row, col) = cell.get_position();
        if row >= limits.max_rows {
            return Err(too_large(
                format!(
                    "sheet {name}: the number of rows (a cell in row {})",
                    row + 1
                ),
                u64::from(limits.max_rows),
            ));
        }
        if col >= limits.max_columns {
            return Err(too_large(
                format!(
                    "sheet {name}: the number of columns (a cell in column {})",
                    column_letter(col)
                ),
                u64::from(limits.max_columns),
            ));
        }
        let text = match cell_text(cell.get_value()) {
            Ok(Some(text)) => text,
            Ok(None) => continue,
            Err(message) => {
                problems.push(Problem {
                    place: Place {
                        sheet: name.to_string(),
                        row: Some(row + 1),
                        column: Some(column_letter(col)),
                    },
                    message,
                });
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        *cells += 1;
        if *cells > limits.max_cells {
            return Err(too_large("the number of non-empty cells", limits.max_cells));
        }
        if text.chars().count() > limits.max_cell_chars {
            return Err(too_large(
                format!(
                    "sheet {name}: the text in cell {}{}",
                    column_letter(col),
                    row + 1
                ),
                limits.max_cell_chars as u64,
            ));
        }
        rows.entry(row).or_default().insert(col, text);
    }
    let mut rows = rows.into_iter();
    let headers = rows
        .next()
        .map(|(_, cells)| {
            cells
                .into_iter()
                .map(|(col, text)| (col, text.trim().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Sheet {
        name: name.to_string(),
        headers,
        rows: rows
            .map(|(index, cells)| Row {
                number: index + 1,
                cells,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_are_the_spreadsheet_s() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn numbers_read_as_an_author_wrote_them() {
        assert_eq!(number_text(1.0), "1");
        assert_eq!(number_text(-12.0), "-12");
        assert_eq!(number_text(2.5), "2.5");
        assert_eq!(number_text(2_024_010_101.0), "2024010101");
    }
}
