//! A small parser of the Prometheus text exposition format (0.0.4), strict enough to fail on
//! what Prometheus would refuse: every sample's family declared by `# TYPE` first, names and
//! label names of the allowed characters, label values quoted with only `\\`, `\"` and `\n`
//! escapes, values that parse as floats, no sample twice.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug, Default)]
pub struct Exposition {
    pub types: BTreeMap<String, String>,
    pub helps: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The value of `name` for the project named `project` (the `project` label).
    pub fn project_value(&self, name: &str, project: &str) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name && s.labels.get("project").map(String::as_str) == Some(project)
            })
            .map(|s| s.value)
    }

    /// The value of an unlabelled sample.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels.is_empty())
            .map(|s| s.value)
    }
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parse `text`, or say which line is wrong and why.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut e = Exposition::default();
    let mut seen = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let err = |why: &str| format!("line {}: {why}: {line:?}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    if !valid_name(name) {
                        return Err(err("bad metric name"));
                    }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(err("bad type"));
                    }
                    if e.types.insert(name.into(), kind.into()).is_some() {
                        return Err(err("TYPE given twice"));
                    }
                }
                (Some("HELP"), Some(name), help) => {
                    e.helps.insert(name.into(), help.unwrap_or_default().into());
                }
                _ => {}
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (name_labels, value) = line.rsplit_once(' ').ok_or_else(|| err("no value"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().map_err(|_| err("value is not a float"))?,
        };
        let (name, labels) = match name_labels.split_once('{') {
            None => (name_labels.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .ok_or_else(|| err("labels not closed"))?;
                (name.to_string(), parse_labels(body).map_err(|w| err(&w))?)
            }
        };
        if !valid_name(&name) {
            return Err(err("bad metric name"));
        }
        if !e.types.contains_key(&name) {
            return Err(err("sample before its # TYPE"));
        }
        if !seen.insert((name.clone(), format!("{labels:?}"))) {
            return Err(err("sample given twice"));
        }
        e.samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    Ok(e)
}

fn parse_labels(body: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut chars = body.chars().peekable();
    loop {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() && chars.peek().is_none() {
            return Ok(out);
        }
        if !valid_name(&name) || chars.next() != Some('=') || chars.next() != Some('"') {
            return Err(format!("bad label {name:?}"));
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => return Err(format!("bad escape \\{other:?}")),
                },
                Some('"') => break,
                Some('\n') | None => return Err("label value not closed".into()),
                Some(c) => value.push(c),
            }
        }
        if out.insert(name.clone(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        match chars.next() {
            Some(',') => continue,
            None => return Ok(out),
            Some(c) => return Err(format!("unexpected {c:?} after a label")),
        }
    }
}
