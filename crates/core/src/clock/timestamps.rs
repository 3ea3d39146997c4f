//! Times as the catalog stores them: RFC 3339 UTC strings in one fixed shape,
//! `2024-05-01T10:00:00.000Z`, so that they sort as text.
//!
//! (Named `timestamps`, not `time`: a module `time` would shadow the `time` crate.)

use crate::error::{Error, Result};
use crate::words::shorten;
use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::{OffsetDateTime, UtcOffset};

const TIMESTAMP_FORMAT: &[BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// `t` in UTC as `2024-05-01T10:00:00.000Z` (RFC 3339, fixed width, so it sorts as text; the
/// same shape as JavaScript's `Date.toISOString()`).
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.format(TIMESTAMP_FORMAT)
        .or_else(|_| t.format(&Rfc3339))
        .unwrap_or_else(|_| t.to_string())
}

/// Parse an RFC 3339 time (any offset).
pub fn parse_timestamp(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|e| {
        Error::invalid(format!("not an RFC 3339 time: {:?} ({e})", shorten(s)))
            .with_hint("write times like 2024-05-01T10:00:00Z")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn timestamps_are_fixed_width_utc() {
        let t = parse_timestamp("2024-05-01T12:34:56.789123+02:00").unwrap();
        assert_eq!(format_timestamp(t), "2024-05-01T10:34:56.789Z");
        let now = format_timestamp(OffsetDateTime::now_utc());
        assert_eq!(now.len(), "2024-05-01T10:34:56.789Z".len());
        assert!(now.ends_with('Z'));
        parse_timestamp(&now).unwrap();
        assert_eq!(
            parse_timestamp("nope").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
