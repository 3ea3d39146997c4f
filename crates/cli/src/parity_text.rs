//! A restore's parity report for a reader: one line per part, what differs under it.

use offsite_core::parity::{ParityReport, PartVerdict};

/// The report as lines (empty when there is nothing to say).
pub(crate) fn text(p: &ParityReport) -> String {
    let mut out = String::new();
    if p.parts.is_empty() && p.note.is_none() {
        return out;
    }
    let differing = p
        .parts
        .iter()
        .filter(|x| x.verdict == PartVerdict::Differs)
        .count();
    out.push_str(&if p.parts.is_empty() {
        "parity with the backup's source: not compared\n".to_string()
    } else if differing == 0 {
        format!(
            "parity with the backup's source: every part compared is the same ({})\n",
            crate::words::count(p.parts.len(), "part")
        )
    } else {
        format!(
            "parity with the backup's source: {} of {} differ\n",
            differing,
            crate::words::count(p.parts.len(), "part")
        )
    });
    for part in &p.parts {
        let verdict = match part.verdict {
            PartVerdict::Equal => "same",
            PartVerdict::Differs => "DIFFERS",
            PartVerdict::NotCompared => "not compared",
        };
        out.push_str(&format!(
            "  {:<44} {verdict} ({})\n",
            part.name, part.compared
        ));
        for d in &part.differences {
            out.push_str(&format!("      {d}\n"));
        }
        if let Some(n) = &part.note {
            out.push_str(&format!("      {n}\n"));
        }
    }
    if let Some(n) = &p.note {
        out.push_str(&format!("  note: {n}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use offsite_core::parity::PartParity;

    #[test]
    fn each_part_on_a_line_and_what_differs_under_it() {
        let part = |name: &str, verdict, differences: &[&str]| PartParity {
            part: name.to_lowercase(),
            name: name.into(),
            verdict,
            evidence: offsite_core::parity::Evidence::Objects,
            compared: "2 items".into(),
            differences: differences.iter().map(|d| d.to_string()).collect(),
            note: None,
            absent_in_target: false,
        };
        let p = ParityReport {
            parts: vec![
                part("Publications", PartVerdict::Equal, &[]),
                part(
                    "pg_cron jobs",
                    PartVerdict::Differs,
                    &["missing in the target: nightly"],
                ),
            ],
            equal: false,
            note: None,
        };
        let t = text(&p);
        assert!(
            t.starts_with("parity with the backup's source: 1 of 2 parts differ\n"),
            "{t}"
        );
        assert!(t.contains("  Publications"), "{t}");
        assert!(
            t.contains("DIFFERS (2 items)\n      missing in the target: nightly\n"),
            "{t}"
        );
        let none = ParityReport {
            parts: Vec::new(),
            equal: true,
            note: Some("could not run".into()),
        };
        assert_eq!(
            text(&none),
            "parity with the backup's source: not compared\n  note: could not run\n"
        );
    }
}
