//! Logical point-in-time capture and replay (issue 46, docs/pitr.md): a publication and a
//! `pgoutput` slot on the source ([`server`]), change segments read from the slot and written
//! durably before the slot moves on ([`capture`], [`segment`]), the meeting point of a base
//! backup and the changes ([`snapshot`]), and replay of decoded changes into a restored base up
//! to a time ([`replay`]).
//!
//! The domain floor: given connections and folders, never the catalog; `ops::pitr` records the
//! segments and chains.

pub(crate) mod applier;
pub mod capture;
pub mod disk;
pub(crate) mod fold;
pub(crate) mod fold_apply;
pub mod objects;
pub mod physical;
pub mod replay;
pub mod segment;
pub mod server;
pub mod snapshot;
pub mod window;

use crate::error::{Error, Result};

/// Every slot and publication Offsite creates starts with this (status finds strays by it).
pub const NAME_PREFIX: &str = "offsite_pitr_";

/// The slot and the publication of one project on its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub slot: String,
    pub publication: String,
}

impl Names {
    /// Names derived from the project's id: lower-case hex only (a valid slot name, and a
    /// publication name that needs no quoting), the same on every machine.
    pub fn for_project(project_id: &str) -> Names {
        let h = crate::digest::sha256_hex(project_id.as_bytes())[..16].to_string();
        Names {
            slot: format!("{NAME_PREFIX}{h}"),
            publication: format!("{NAME_PREFIX}{h}"),
        }
    }
}

/// An LSN as PostgreSQL writes it (`16/B374D848`).
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Parse `16/B374D848`.
pub fn parse_lsn(s: &str) -> Result<u64> {
    let bad = || Error::invalid(format!("not an LSN: {s:?}"));
    let (hi, lo) = s.trim().split_once('/').ok_or_else(bad)?;
    let hi = u32::from_str_radix(hi, 16).map_err(|_| bad())?;
    let lo = u32::from_str_radix(lo, 16).map_err(|_| bad())?;
    Ok((u64::from(hi) << 32) | u64::from(lo))
}

/// Microseconds since the Unix epoch as RFC 3339 UTC (`2026-11-26T06:01:02.123456Z`).
pub fn micros_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_else(|| micros.to_string())
}

/// The form a time was written in (what [`read_time`] read it as).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeForm {
    /// RFC 3339: `2026-11-26T06:00:00Z`, `2026-11-26T07:00:00+01:00`.
    Rfc3339,
    /// PostgreSQL's `timestamptz` output, what `select now()` prints:
    /// `2026-11-28 07:14:52.900134+00` (an offset of hours, or hours and minutes).
    Postgres,
}

/// PostgreSQL's `timestamptz` text: date, space, time with up to 6 decimals, an offset of hours
/// (`+00`, `-05`) or hours and minutes (`+05:30`).
fn postgres_form(s: &str) -> Option<String> {
    static FORM: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = FORM.get_or_init(|| {
        regex::Regex::new(
            r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)([+-]\d{2})(?::(\d{2}))?$",
        )
        .expect("regex")
    });
    let c = re.captures(s)?;
    let minutes = c.get(4).map(|m| m.as_str()).unwrap_or("00");
    Some(format!("{}T{}{}:{minutes}", &c[1], &c[2], &c[3]))
}

/// Parse a time given by a person into microseconds since the Unix epoch, and say which form
/// it was read as: RFC 3339, or PostgreSQL's `timestamptz` text (`select now()`). A time with
/// no offset is refused: whose clock it means is not known.
pub fn read_time(s: &str) -> Result<(i64, TimeForm)> {
    let t = s.trim();
    let (text, form) = match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(_) => (t.to_string(), TimeForm::Rfc3339),
        Err(_) => match postgres_form(t) {
            Some(rfc) => (rfc, TimeForm::Postgres),
            None => {
                return Err(Error::invalid(format!("not a time: {s:?}")).with_hint(
                    "give an RFC 3339 time (2026-11-26T06:00:00Z) or PostgreSQL's form, as \
                     `select now()` prints it (2026-11-26 06:00:00.123456+00), with its offset",
                ))
            }
        },
    };
    let micros = chrono::DateTime::parse_from_rfc3339(&text)
        .map(|t| t.timestamp_micros())
        .map_err(|_| Error::invalid(format!("not a time: {s:?}")))?;
    Ok((micros, form))
}

/// Parse a time (RFC 3339, or PostgreSQL's `timestamptz` text) into microseconds since the
/// Unix epoch: see [`read_time`].
pub fn parse_time(s: &str) -> Result<i64> {
    read_time(s).map(|(t, _)| t)
}

/// What a time given as `given` was read as, for the user: "read as 2026-11-28T07:14:52.900134Z
/// (UTC), from PostgreSQL's form".
pub fn time_read_as(given: &str) -> Result<String> {
    let (micros, form) = read_time(given)?;
    Ok(format!(
        "{} (UTC), read from {}",
        micros_text(micros),
        match form {
            TimeForm::Rfc3339 => "RFC 3339",
            TimeForm::Postgres => "PostgreSQL's timestamptz form (as `select now()` prints it)",
        }
    ))
}

/// `1073741824`, `512MiB`, `1GiB`, `100kB`.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "kib" | "k" => 1 << 10,
        "mb" | "mib" | "m" => 1 << 20,
        "gb" | "gib" | "g" => 1 << 30,
        _ => 0,
    };
    n.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0)
        .ok_or_else(|| Error::invalid(format!("not a size: {s:?} (e.g. 512MiB, 1GiB)")))
}

/// Parse how long windows are kept: a number and a unit, combined (`90s`, `45min`, `36h`,
/// `7d`, `2w`, `1d12h`), into seconds. `m` is refused (months, in retention, or minutes?).
pub fn parse_keep_within(s: &str) -> Result<i64> {
    let bad = || {
        Error::invalid(format!("{s:?} is not a duration"))
            .with_hint("write a number and a unit: s, min, h, d or w, e.g. 36h, 7d or 1d12h")
    };
    let t = s.trim().to_ascii_lowercase();
    let (mut total, mut rest) = (0i64, t.as_str());
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let secs = match &rest[..unit] {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(bad()),
        };
        rest = &rest[unit..];
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .filter(|&v| v <= 100 * 366 * 86_400)
            .ok_or_else(bad)?;
    }
    if total == 0 {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_rfc_3339_and_postgres_form_and_say_which() {
        let rfc = read_time("2026-11-28T07:14:52.900134Z").unwrap();
        assert_eq!(rfc.1, TimeForm::Rfc3339);
        let pg = read_time("2026-11-28 07:14:52.900134+00").unwrap();
        assert_eq!(pg, (rfc.0, TimeForm::Postgres));
        assert_eq!(
            read_time("2026-11-28 12:44:52.900134+05:30").unwrap().0,
            rfc.0
        );
        assert_eq!(
            read_time("2026-11-28 02:14:52-05").unwrap().0,
            parse_time("2026-11-28T07:14:52Z").unwrap()
        );
        assert!(time_read_as("2026-11-28 07:14:52.900134+00")
            .unwrap()
            .contains("PostgreSQL"));
        // No offset: whose clock is not known.
        for bad in [
            "2026-11-28 07:14:52",
            "2026-11-28",
            "now",
            "2026-11-28 07:14:52+0",
        ] {
            assert!(read_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keep_within_parses_units_and_refuses_the_rest() {
        assert_eq!(parse_keep_within("90s").unwrap(), 90);
        assert_eq!(parse_keep_within("1d12h").unwrap(), 36 * 3600);
        assert_eq!(parse_keep_within(" 2W ").unwrap(), 14 * 86_400);
        assert_eq!(parse_keep_within("45min").unwrap(), 2700);
        for bad in [
            "",
            "5",
            "5m",
            "h",
            "0s",
            "-1h",
            "1y",
            "99999999999w",
            "1h 2h",
        ] {
            assert!(parse_keep_within(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lsn_and_time_round_trip() {
        assert_eq!(parse_lsn("16/B374D848").unwrap(), 0x16_B374_D848);
        assert_eq!(lsn_text(0x16_B374_D848), "16/B374D848");
        assert!(parse_lsn("16").is_err());
        let t = parse_time("2026-11-26T06:01:02.5Z").unwrap();
        assert_eq!(micros_text(t), "2026-11-26T06:01:02.500000Z");
        let n = Names::for_project("p1");
        assert!(n.slot.starts_with(NAME_PREFIX) && n.slot.len() < 64);
        assert!(n.slot[NAME_PREFIX.len()..]
            .chars()
            .all(|c| c.is_ascii_hexdigit()));
    }
}
