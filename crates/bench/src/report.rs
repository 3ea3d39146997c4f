//! Collected samples, medians, the targets and their verdicts; markdown and JSON output.

use serde::Serialize;

/// One measured quantity, one value per run.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub key: String,
    pub label: String,
    pub unit: String,
    pub values: Vec<f64>,
    pub median: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Results {
    pub series: Vec<Series>,
}

impl Results {
    /// Records `value` for `key` (created on first use, in order of first use).
    pub fn add(&mut self, key: &str, label: &str, unit: &str, value: f64) {
        match self.series.iter_mut().find(|s| s.key == key) {
            Some(s) => {
                s.values.push(value);
                s.median = median(&s.values);
            }
            None => self.series.push(Series {
                key: key.into(),
                label: label.into(),
                unit: unit.into(),
                values: vec![value],
                median: value,
            }),
        }
    }

    pub fn median(&self, key: &str) -> Option<f64> {
        self.series.iter().find(|s| s.key == key).map(|s| s.median)
    }
}

pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// A target and whether the medians meet it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub metric: String,
    /// The measured median(s) the ratio is made of, as text.
    pub measured: String,
    pub ratio: f64,
    /// `">= 0.9"`, `"<= 1.2"`, …
    pub target: String,
    pub pass: bool,
    pub note: String,
}

impl Verdict {
    pub fn at_least(metric: &str, measured: String, ratio: f64, min: f64, note: &str) -> Verdict {
        Verdict {
            metric: metric.into(),
            measured,
            ratio,
            target: format!("≥ {min}"),
            pass: ratio >= min,
            note: note.into(),
        }
    }
    pub fn at_most(metric: &str, measured: String, ratio: f64, max: f64, note: &str) -> Verdict {
        Verdict {
            metric: metric.into(),
            measured,
            ratio,
            target: format!("≤ {max}"),
            pass: ratio <= max,
            note: note.into(),
        }
    }
}

fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// All runs and the median of every series.
pub fn runs_table(r: &Results, runs: usize) -> String {
    let mut s = String::new();
    s.push_str("| measurement | unit |");
    for i in 1..=runs {
        s.push_str(&format!(" run {i} |"));
    }
    s.push_str(" median |\n|---|---|");
    for _ in 0..runs {
        s.push_str("---:|");
    }
    s.push_str("---:|\n");
    for x in &r.series {
        s.push_str(&format!("| {} | {} |", x.label, x.unit));
        for i in 0..runs {
            s.push_str(&format!(
                " {} |",
                x.values
                    .get(i)
                    .map(|v| fmt_num(*v))
                    .unwrap_or_else(|| "–".into())
            ));
        }
        s.push_str(&format!(" **{}** |\n", fmt_num(x.median)));
    }
    s
}

pub fn verdict_table(vs: &[Verdict]) -> String {
    let mut s =
        String::from("| metric | median(s) | ratio | target | result |\n|---|---|---:|---|---|\n");
    for v in vs {
        let note = if v.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.note)
        };
        s.push_str(&format!(
            "| {}{} | {} | {} | {} | {} |\n",
            v.metric,
            note,
            v.measured,
            fmt_num(v.ratio),
            v.target,
            if v.pass { "PASS" } else { "**MISS**" }
        ));
    }
    s
}
