//! What a validation query's one value must satisfy, parsed from what the user wrote
//! (`offsite check add NAME --sql "…" --expect ">= 1000"`). A small grammar read by a real
//! parser (no evaluation of anything the user wrote):
//!
//! ```text
//! expect  := cmp NUMBER | "between" NUMBER "and" NUMBER | "within" DURATION
//!          | "is" ["not"] "null" | "is" ("true" | "false")
//! cmp     := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//! NUMBER  := ["-"] digits ["." digits]
//! DURATION:= digits ("m" | "min" | "h" | "d" | "w")   e.g. 26h, 2d, 90m (a space may precede the unit)
//! ```
//!
//! Words are case-insensitive. `within` measures freshness: the value is a time (a
//! `timestamptz`, `timestamp` read as UTC, or `date`), and it passes when it is at most that long
//! before the backup's time (the RPO, measured). [`Expectation`]'s `Display` is its one canonical
//! text, which the catalog stores.

use crate::error::{Error, Result};
use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    /// `value <op> bound`.
    pub fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Cmp::Eq => value == bound,
            Cmp::Ne => value != bound,
            Cmp::Lt => value < bound,
            Cmp::Le => value <= bound,
            Cmp::Gt => value > bound,
            Cmp::Ge => value >= bound,
        }
    }
}

/// A number as written (kept as text for display, with its value).
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    pub text: String,
    pub value: f64,
}

/// A freshness window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub amount: u32,
    /// `m`, `h`, `d` or `w`.
    pub unit: char,
}

impl Window {
    pub fn seconds(self) -> i64 {
        let per = match self.unit {
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => 7 * 86_400,
        };
        i64::from(self.amount) * per
    }
}

/// What a validation query's value must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    Compare(Cmp, Number),
    Between(Number, Number),
    Within(Window),
    IsNull,
    IsNotNull,
    IsTrue,
    IsFalse,
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Compare(c, n) => write!(f, "{} {}", c.symbol(), n.text),
            Expectation::Between(a, b) => write!(f, "between {} and {}", a.text, b.text),
            Expectation::Within(w) => write!(f, "within {}{}", w.amount, w.unit),
            Expectation::IsNull => f.write_str("is null"),
            Expectation::IsNotNull => f.write_str("is not null"),
            Expectation::IsTrue => f.write_str("is true"),
            Expectation::IsFalse => f.write_str("is false"),
        }
    }
}

/// The longest expectation accepted (it is a few words).
const MAX_LEN: usize = 200;

fn malformed(given: &str, why: &str) -> Error {
    let shown: String = given.chars().take(60).collect();
    Error::invalid(format!("the expectation {shown:?} cannot be read: {why}")).with_hint(
        "write one of: \">= 1000\", \"= 0\", \"!= 0\", \"< 5\", \"between 1 and 10\", \"within 26h\" (or 2d, 90m, 1w), \"is not null\", \"is null\", \"is true\", \"is false\"",
    )
}

/// Split into tokens: operators, words and numbers (a number directly followed by a unit stays
/// one token, `26h`).
fn tokens(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if "=!<>".contains(c) {
            let mut op = String::new();
            while let Some(&o) = chars.peek() {
                if "=!<>".contains(o) && op.len() < 2 {
                    op.push(o);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(op);
        } else if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
            let mut w = String::new();
            while let Some(&o) = chars.peek() {
                if o.is_ascii_alphanumeric() || o == '-' || o == '.' {
                    w.push(o.to_ascii_lowercase());
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(w);
        } else {
            return Err(format!("unexpected character {c:?}"));
        }
    }
    Ok(out)
}

fn number(t: &str) -> std::result::Result<Number, String> {
    let digits = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let ok = |d: &str| !d.is_empty() && d.len() <= 30 && d.bytes().all(|b| b.is_ascii_digit());
    if !ok(int) || frac.is_some_and(|f| !ok(f)) {
        return Err(format!("{t:?} is not a number"));
    }
    let value: f64 = t.parse().map_err(|_| format!("{t:?} is not a number"))?;
    Ok(Number {
        text: t.to_string(),
        value,
    })
}

fn window(t: &str) -> std::result::Result<Window, String> {
    let n = t.bytes().take_while(u8::is_ascii_digit).count();
    let (amount, unit) = t.split_at(n);
    let unit = match unit {
        "m" | "min" | "mins" | "minute" | "minutes" => 'm',
        "h" | "hour" | "hours" => 'h',
        "d" | "day" | "days" => 'd',
        "w" | "week" | "weeks" => 'w',
        _ => return Err(format!("{t:?} is not a duration like 26h, 2d, 90m or 1w")),
    };
    let amount: u32 = amount
        .parse()
        .ok()
        .filter(|a| (1..=100_000).contains(a))
        .ok_or_else(|| format!("{t:?} is not a duration like 26h, 2d, 90m or 1w"))?;
    Ok(Window { amount, unit })
}

impl std::str::FromStr for Expectation {
    type Err = Error;

    fn from_str(given: &str) -> Result<Expectation> {
        if given.len() > MAX_LEN {
            return Err(malformed(given, "it is too long"));
        }
        let t = tokens(given).map_err(|why| malformed(given, &why))?;
        let t: Vec<&str> = t.iter().map(String::as_str).collect();
        let cmp = |op: &str| match op {
            "=" | "==" => Some(Cmp::Eq),
            "!=" | "<>" => Some(Cmp::Ne),
            "<" => Some(Cmp::Lt),
            "<=" => Some(Cmp::Le),
            ">" => Some(Cmp::Gt),
            ">=" => Some(Cmp::Ge),
            _ => None,
        };
        let parsed = match t.as_slice() {
            [op, n] if cmp(op).is_some() => {
                number(n).map(|n| Expectation::Compare(cmp(op).unwrap(), n))
            }
            ["between", a, "and", b] => number(a).and_then(|a| {
                let b = number(b)?;
                if a.value > b.value {
                    return Err(format!("{} is greater than {}", a.text, b.text));
                }
                Ok(Expectation::Between(a, b))
            }),
            ["within", d] => window(d).map(Expectation::Within),
            ["within", n, unit] => window(&format!("{n}{unit}")).map(Expectation::Within),
            ["is", "null"] => Ok(Expectation::IsNull),
            ["is", "not", "null"] => Ok(Expectation::IsNotNull),
            ["is", "true"] => Ok(Expectation::IsTrue),
            ["is", "false"] => Ok(Expectation::IsFalse),
            [] => Err("it is empty".to_string()),
            [op, ..] if cmp(op).is_some() => Err("a comparison takes one number".to_string()),
            _ => Err("it is not a form Offsite knows".to_string()),
        };
        parsed.map_err(|why| malformed(given, &why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn canon(s: &str) -> String {
        s.parse::<Expectation>()
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .to_string()
    }

    #[test]
    fn every_form_parses_to_one_canonical_text() {
        assert_eq!(canon(">= 1000"), ">= 1000");
        assert_eq!(canon(">=1000"), ">= 1000");
        assert_eq!(canon("  <>  0 "), "!= 0");
        assert_eq!(canon("== -2.5"), "= -2.5");
        assert_eq!(canon("< 5"), "< 5");
        assert_eq!(canon("BETWEEN 1 AND 10"), "between 1 and 10");
        assert_eq!(canon("within 26h"), "within 26h");
        assert_eq!(canon("within 2 days"), "within 2d");
        assert_eq!(canon("Within 90min"), "within 90m");
        assert_eq!(canon("is not null"), "is not null");
        assert_eq!(canon("IS NULL"), "is null");
        assert_eq!(canon("is true"), "is true");
        // Canonical text parses to itself.
        for s in [">= 1000", "between 1 and 10", "within 2d", "is false"] {
            assert_eq!(canon(&canon(s)), canon(s));
        }
        let w: Expectation = "within 26h".parse().unwrap();
        assert!(matches!(w, Expectation::Within(w) if w.seconds() == 26 * 3600));
    }

    #[test]
    fn malformed_expectations_are_refused_saying_why() {
        for bad in [
            "",
            ">=",
            ">= 10 20",
            ">= ten",
            "=> 5",
            ">>= 5",
            "1000",
            "within",
            "within 26",
            "within 26y",
            "within 0h",
            "between 5 and 1",
            "between 1 10",
            "is maybe",
            "count(*) >= 1",
            "; drop table x",
            "1e9 > 0",
            "- 5 = 1",
            "= 1.",
            "= .5",
        ] {
            let e = bad.parse::<Expectation>().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(e.message().contains("cannot be read"), "{bad}: {e}");
            assert!(e.hint().unwrap().contains("within 26h"));
        }
        let long = format!(">= {}", "1".repeat(300));
        assert!(long.parse::<Expectation>().is_err());
    }

    #[test]
    fn comparisons_hold_as_written() {
        assert!(Cmp::Ge.holds(1000.0, 1000.0));
        assert!(!Cmp::Gt.holds(1000.0, 1000.0));
        assert!(Cmp::Ne.holds(1.0, 0.0));
        assert!(Cmp::Le.holds(-1.0, 0.0));
    }
}
