//! Timeline rows and chart series as files: what `docktray events --json` and `docktray history --csv` print,
//! written the same way by the window's exports, so both give the same columns.

use std::io::Write;

use chrono::SecondsFormat;

use super::{ExportFormat, HistoryError, Point};
use crate::model::{TimelineRow, TIMELINE_COLUMNS};

/// Writes timeline rows: JSON lines (one [`TimelineRow`] object per line, as `docktray events --json`) or CSV
/// with [`TIMELINE_COLUMNS`]. Returns the rows written.
pub fn write_timeline(
    rows: &[TimelineRow],
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, HistoryError> {
    let io = |source| HistoryError::ExportWrite { source };
    match format {
        ExportFormat::JsonLines => {
            for row in rows {
                serde_json::to_writer(&mut *out, row).map_err(|e| io(e.into()))?;
                out.write_all(b"\n").map_err(io)?;
            }
        }
        ExportFormat::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *out);
            writer
                .write_record(TIMELINE_COLUMNS)
                .map_err(|e| io(e.into()))?;
            for row in rows {
                writer
                    .write_record(row.csv_fields())
                    .map_err(|e| io(e.into()))?;
            }
            writer.flush().map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(rows.len() as u64)
}

/// One point of a chart's series as a JSON line: the CSV's columns.
#[derive(serde::Serialize)]
struct SeriesLine<'a> {
    at: String,
    min: f64,
    avg: f64,
    max: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric: Option<&'a str>,
}

/// Writes chart series with the columns of `docktray history --csv` (`at,min,avg,max`); with more than one
/// metric (a chart of received and sent bytes), each row also names its `metric`. Returns the rows written.
pub fn write_series(
    series: &[(String, Vec<Point>)],
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, HistoryError> {
    let io = |source| HistoryError::ExportWrite { source };
    let named = series.len() > 1;
    let mut written = 0u64;
    if format == ExportFormat::Csv {
        let header = if named {
            "at,min,avg,max,metric\n"
        } else {
            "at,min,avg,max\n"
        };
        out.write_all(header.as_bytes()).map_err(io)?;
    }
    for (metric, points) in series {
        for point in points {
            let at = point.at.to_rfc3339_opts(SecondsFormat::Millis, true);
            match format {
                ExportFormat::Csv => {
                    let tail = if named {
                        format!(",{metric}")
                    } else {
                        String::new()
                    };
                    writeln!(out, "{at},{},{},{}{tail}", point.min, point.avg, point.max)
                        .map_err(io)?;
                }
                ExportFormat::JsonLines => {
                    let line = SeriesLine {
                        at,
                        min: point.min,
                        avg: point.avg,
                        max: point.max,
                        metric: named.then_some(metric.as_str()),
                    };
                    serde_json::to_writer(&mut *out, &line).map_err(|e| io(e.into()))?;
                    out.write_all(b"\n").map_err(io)?;
                }
            }
            written += 1;
        }
    }
    out.flush().map_err(io)?;
    Ok(written)
}
