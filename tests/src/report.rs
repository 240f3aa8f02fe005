//! Benchmark figures: medians of repeated runs, ratios to a baseline from
//! the same run, a printed table and `target/bench/results.json`.
#![allow(clippy::print_stdout)]

use std::path::Path;

use serde::Serialize;

/// One figure of a benchmark run.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// Median over the runs.
    pub value: f64,
    /// Unit of `value` ("events/s", "ms", "s").
    pub unit: String,
    /// Name of the figure this one is compared with, from the same run.
    pub baseline: Option<String>,
    /// `value / baseline` value.
    pub ratio: Option<f64>,
}

/// Median of `xs` (NaN for none).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `q` quantile (0..=1) of `xs` by nearest rank.
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// A figure for people: one decimal, or four for small figures
/// (sub-millisecond latencies keep their digits).
pub fn shown(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.4}")
    }
}

/// Collects figures and prints them as they come.
#[derive(Debug, Default)]
pub struct Report {
    figures: Vec<Figure>,
}

impl Report {
    /// Records a figure with no baseline.
    pub fn add(&mut self, name: &str, value: f64, unit: &str) {
        self.push(name, value, unit, None);
    }

    /// Records a figure compared with an earlier figure named `baseline`.
    pub fn add_vs(&mut self, name: &str, value: f64, unit: &str, baseline: &str) {
        self.push(name, value, unit, Some(baseline));
    }

    fn push(&mut self, name: &str, value: f64, unit: &str, baseline: Option<&str>) {
        let base = baseline.and_then(|b| self.figures.iter().find(|f| f.name == b));
        let ratio = base.map(|b| value / b.value);
        let f = Figure {
            name: name.into(),
            value,
            unit: unit.into(),
            baseline: base.map(|b| b.name.clone()),
            ratio,
        };
        let shown = shown(f.value);
        match (&f.baseline, f.ratio) {
            (Some(b), Some(r)) => println!(
                "{:<48} {:>14} {:<9} {:>8.4}× {}",
                f.name, shown, f.unit, r, b
            ),
            _ => println!("{:<48} {:>14} {:<9}", f.name, shown, f.unit),
        }
        self.figures.push(f);
    }

    /// The figures so far.
    pub fn figures(&self) -> &[Figure] {
        &self.figures
    }

    /// Writes the figures as a JSON array to `path` (creating its folder).
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string_pretty(&self.figures).map_err(std::io::Error::other)?;
        std::fs::write(path, json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_quantiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&xs, 0.99), 99.0);
        assert_eq!(quantile(&xs, 0.5), 50.0);
        assert_eq!(quantile(&xs, 1.0), 100.0);
    }

    #[test]
    fn ratios_refer_to_the_named_baseline() {
        let mut r = Report::default();
        r.add("raw", 100.0, "events/s");
        r.add_vs("ours", 80.0, "events/s", "raw");
        r.add_vs("orphan", 1.0, "events/s", "missing");
        let f = r.figures();
        assert_eq!(f[1].ratio, Some(0.8));
        assert_eq!(f[1].baseline.as_deref(), Some("raw"));
        assert_eq!(f[2].ratio, None);
    }
}
