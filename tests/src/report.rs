//! Benchmark results as tables: printed as they are measured, and, when
//! `SMCP_BENCH_DIR` is set (`./scripts/bench.sh` sets it), written as
//! `<dir>/<bench>.json` for `bench-report` to gather into one results file.

use serde_json::{Value, json};
use std::time::Duration;

/// One table of a benchmark's results.
pub struct Table {
    title: String,
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
    notes: Vec<String>,
}

impl Table {
    pub fn new(title: &str, columns: &[&str]) -> Table {
        Table {
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: vec![],
            notes: vec![],
        }
    }

    /// Adds a row; numbers are kept as numbers in the JSON.
    pub fn row(&mut self, cells: Vec<Value>) {
        self.rows.push(cells);
    }

    /// A line under the table: what limits the figures, how they were taken.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    fn to_json(&self) -> Value {
        json!({ "title": self.title, "columns": self.columns, "rows": self.rows, "notes": self.notes })
    }

    /// The table as markdown (also what is printed).
    pub fn markdown(table: &Value) -> String {
        let cell = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => "–".into(),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 => format!("{f:.0}"),
                Some(f) if f.abs() < 10.0 => format!("{f:.2}"),
                Some(f) => format!("{f:.1}"),
                None => n.to_string(),
            },
            other => other.to_string(),
        };
        let strings = |v: &Value| v.as_array().map(|a| a.iter().map(cell).collect::<Vec<_>>()).unwrap_or_default();
        let mut out = format!("### {}\n\n", table["title"].as_str().unwrap_or_default());
        let columns = strings(&table["columns"]);
        out += &format!("| {} |\n|{}\n", columns.join(" | "), "---|".repeat(columns.len()));
        for row in table["rows"].as_array().into_iter().flatten() {
            out += &format!("| {} |\n", strings(row).join(" | "));
        }
        for note in table["notes"].as_array().into_iter().flatten() {
            out += &format!("\n- {}", note.as_str().unwrap_or_default());
        }
        out + "\n"
    }
}

/// A benchmark's tables.
pub struct Report {
    bench: String,
    tables: Vec<Value>,
}

impl Report {
    pub fn new(bench: &str) -> Report {
        Report { bench: bench.into(), tables: vec![] }
    }

    /// Prints `table` and keeps it for [`finish`](Self::finish).
    pub fn add(&mut self, table: Table) {
        let value = table.to_json();
        println!("\n{}", Table::markdown(&value));
        self.tables.push(value);
    }

    /// Writes the tables to `$SMCP_BENCH_DIR/<bench>.json`, if set.
    pub fn finish(self) {
        let Ok(dir) = std::env::var("SMCP_BENCH_DIR") else { return };
        let path = std::path::Path::new(&dir).join(format!("{}.json", self.bench));
        let body = serde_json::to_vec_pretty(&json!({ "bench": self.bench, "tables": self.tables }))
            .expect("tables serialize");
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

/// Sorted samples and their percentiles.
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Samples {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        Samples(samples)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        self.0[((self.0.len() - 1) as f64 * p).round() as usize]
    }

    pub fn p50_us(&self) -> f64 {
        micros(self.percentile(0.5))
    }

    pub fn p99_us(&self) -> f64 {
        micros(self.percentile(0.99))
    }
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A number rounded for a table cell.
pub fn num(value: f64, decimals: i32) -> Value {
    let scale = 10f64.powi(decimals);
    json!((value * scale).round() / scale)
}
