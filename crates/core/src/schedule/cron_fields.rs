//! Which field of a five-field cron expression holds a number outside its range, said in plain
//! words ("the hour is 25, but an hour goes from 0 to 23"). croner's own error names no field
//! ("Component error: Number out of bounds", issue 44); this is asked only after croner refused
//! an expression, so it never changes what is accepted.

/// The five fields: their name in a sentence and the numbers they allow.
const FIELDS: [(&str, &str, u32, u32); 5] = [
    ("minute", "a minute", 0, 59),
    ("hour", "an hour", 0, 23),
    ("day of the month", "a day of the month", 1, 31),
    ("month", "a month", 1, 12),
    (
        "day of the week",
        "a day of the week (0 or 7 is Sunday)",
        0,
        7,
    ),
];

/// The first number out of its field's range, as a sentence; `None` when every number fits
/// (then the expression is wrong in some other way).
pub(crate) fn out_of_range(text: &str) -> Option<String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return None;
    }
    for (field, (name, a_name, lo, hi)) in fields.iter().zip(FIELDS) {
        for part in field.split(',') {
            let (base, step) = match part.split_once('/') {
                Some((b, s)) => (b, Some(s)),
                None => (part, None),
            };
            for n in base.split('-').filter_map(number) {
                if n < lo || n > hi {
                    return Some(format!(
                        "the {name} is {n}, but {a_name} goes from {lo} to {hi}"
                    ));
                }
            }
            if let Some(s) = step.and_then(number) {
                if s == 0 || s > hi {
                    return Some(format!(
                        "the {name} repeats every {s}, but the step must be from 1 to {hi}"
                    ));
                }
            }
        }
    }
    None
}

/// A plain decimal number (names, `*`, `L`, `W`, `#` are croner's to judge).
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().or(Some(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::out_of_range;

    #[test]
    fn names_the_field_and_its_range() {
        assert_eq!(
            out_of_range("0 25 * * *").as_deref(),
            Some("the hour is 25, but an hour goes from 0 to 23")
        );
        assert_eq!(
            out_of_range("61 * * * *").as_deref(),
            Some("the minute is 61, but a minute goes from 0 to 59")
        );
        assert_eq!(
            out_of_range("0 3 0 * *").as_deref(),
            Some("the day of the month is 0, but a day of the month goes from 1 to 31")
        );
        assert_eq!(
            out_of_range("0 3 * 1-13 *").as_deref(),
            Some("the month is 13, but a month goes from 1 to 12")
        );
        assert_eq!(
            out_of_range("0 3 * * 1,8").as_deref(),
            Some("the day of the week is 8, but a day of the week (0 or 7 is Sunday) goes from 0 to 7")
        );
        assert_eq!(
            out_of_range("*/0 * * * *").as_deref(),
            Some("the minute repeats every 0, but the step must be from 1 to 59")
        );
        assert!(out_of_range("0 99999999999999999999 * * *")
            .unwrap()
            .contains("hour"));
    }

    #[test]
    fn leaves_fitting_numbers_and_names_alone() {
        for ok in [
            "0 3 * * mon-fri",
            "*/15 0-23 1,15 jan-dec 0-7",
            "0 3 L * *",
            "0 3 * * 5#2",
            "a b c d e",
        ] {
            assert_eq!(out_of_range(ok), None, "{ok}");
        }
    }
}
