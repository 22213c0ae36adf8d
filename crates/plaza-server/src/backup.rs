//! `plaza backup` and `plaza restore`: the database as JSON lines, taken while the
//! server runs and loadable into an empty database of either backend.
//!
//! The file starts with a header (format, schema version, backend, time), then for
//! each table a line naming it and its columns followed by one JSON array per row,
//! and ends with a trailer that counts the rows: a file cut short never restores.
//! It holds the server's secrets (the JWT signing key among them), so it is written
//! readable by its owner only.

use std::io::{BufRead, Write};

use anyhow::Context;
use plaza_db::{Backup, BackupItem, BackupSink, BackupSource, StoreError, StoreResult};
use serde_json::{Value, json};

const FORMAT: &str = "plaza-backup";
const VERSION: u64 = 1;
/// A progress line at least this often within a large table.
const PROGRESS_EVERY: u64 = 10_000;

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub tables: usize,
    pub rows: u64,
}

struct JsonLinesSink<'a, W: Write, P: FnMut(&str)> {
    out: &'a mut W,
    progress: P,
    table: String,
    table_rows: u64,
    table_done: u64,
    tables: usize,
    rows: u64,
}

fn io_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::other(format!("writing the backup: {error}"))
}

impl<W: Write, P: FnMut(&str)> BackupSink for JsonLinesSink<'_, W, P> {
    fn table(&mut self, name: &str, columns: &[String], rows: u64) -> StoreResult<()> {
        (self.progress)(&format!("{name}: {rows} rows"));
        self.table = name.to_owned();
        self.table_rows = rows;
        self.table_done = 0;
        self.tables += 1;
        let line = json!({"table": name, "columns": columns, "rows": rows});
        writeln!(self.out, "{line}").map_err(io_error)
    }

    fn row(&mut self, values: Vec<Value>) -> StoreResult<()> {
        serde_json::to_writer(&mut *self.out, &values).map_err(io_error)?;
        self.out.write_all(b"\n").map_err(io_error)?;
        self.rows += 1;
        self.table_done += 1;
        if self.table_done.is_multiple_of(PROGRESS_EVERY) {
            let (done, of) = (self.table_done, self.table_rows.max(self.table_done));
            (self.progress)(&format!("{}: {done} of {of} rows", self.table));
        }
        Ok(())
    }
}

/// Writes a consistent backup of `store` to `out`, calling `progress` as it goes.
pub async fn write_backup(
    store: &dyn Backup,
    out: &mut (impl Write + Send),
    progress: impl FnMut(&str) + Send,
) -> anyhow::Result<BackupSummary> {
    let header = json!({
        "format": FORMAT,
        "version": VERSION,
        "backend": store.backend(),
        "schema": store.schema_version().await?,
        "created": plaza_db::Timestamp::now().to_string(),
    });
    writeln!(out, "{header}")?;
    let mut sink = JsonLinesSink {
        out,
        progress,
        table: String::new(),
        table_rows: 0,
        table_done: 0,
        tables: 0,
        rows: 0,
    };
    store.export(&mut sink).await?;
    let summary = BackupSummary { tables: sink.tables, rows: sink.rows };
    writeln!(out, "{}", json!({"end": true, "tables": summary.tables, "rows": summary.rows}))?;
    out.flush()?;
    Ok(summary)
}

struct JsonLinesSource<R: BufRead> {
    input: R,
    line: usize,
    rows: u64,
    ended: bool,
}

impl<R: BufRead> JsonLinesSource<R> {
    fn bad(&self, what: impl std::fmt::Display) -> StoreError {
        StoreError::other(format!("backup line {}: {what}", self.line))
    }

    fn next_line(&mut self) -> StoreResult<Option<Value>> {
        let mut text = String::new();
        let read = self.input.read_line(&mut text).map_err(|e| self.bad(e))?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        serde_json::from_str(&text).map(Some).map_err(|e| self.bad(e))
    }
}

impl<R: BufRead + Send> BackupSource for JsonLinesSource<R> {
    fn next_item(&mut self) -> StoreResult<Option<BackupItem>> {
        if self.ended {
            return Ok(None);
        }
        let Some(value) = self.next_line()? else {
            return Err(self.bad("the backup ends early: it was cut short"));
        };
        match value {
            Value::Array(values) => {
                self.rows += 1;
                Ok(Some(BackupItem::Row(values)))
            }
            Value::Object(line) if line.get("end") == Some(&Value::Bool(true)) => {
                if line.get("rows").and_then(Value::as_u64) != Some(self.rows) {
                    return Err(self.bad("the trailer's row count does not match the rows read"));
                }
                self.ended = true;
                Ok(None)
            }
            Value::Object(line) => {
                let name = line.get("table").and_then(Value::as_str);
                let columns: Option<Vec<String>> = line
                    .get("columns")
                    .and_then(Value::as_array)
                    .and_then(|c| c.iter().map(|v| v.as_str().map(str::to_owned)).collect());
                match (name, columns) {
                    (Some(name), Some(columns)) => {
                        Ok(Some(BackupItem::Table { name: name.to_owned(), columns }))
                    }
                    _ => Err(self.bad("expected a table line or a row")),
                }
            }
            _ => Err(self.bad("expected a table line or a row")),
        }
    }
}

/// Loads the backup in `input` into `store`, an empty database migrated to the same
/// schema version; answers how many rows were loaded. All or nothing.
pub async fn restore_backup(store: &dyn Backup, input: impl BufRead + Send) -> anyhow::Result<u64> {
    let mut source = JsonLinesSource { input, line: 0, rows: 0, ended: false };
    let header = source.next_line()?.context("the backup file is empty")?;
    anyhow::ensure!(
        header["format"] == FORMAT && header["version"] == VERSION,
        "this is not a Plaza backup (version {VERSION})"
    );
    let schema = store.schema_version().await?;
    anyhow::ensure!(
        header["schema"].as_i64() == Some(schema),
        "the backup is of database schema {}, this Plaza has schema {schema}: restore it with \
         the Plaza version that made it, then upgrade",
        header["schema"]
    );
    Ok(store.import(&mut source).await?)
}
