//! Command lines clap refuses (a missing argument, an unknown subcommand or flag, a bad value):
//! with `--json`, one JSON document on stdout in the shape of every other error; exit 2.

use crate::output::Out;
use offsite_core::Error;
use std::ffi::OsString;

/// Whether `--json` is among the arguments before `--`, found without clap (which may have
/// failed to parse them).
pub(crate) fn json_requested(args: impl IntoIterator<Item = OsString>) -> bool {
    args.into_iter()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// The engine's error for a command line clap refused: `invalid_input`, the message clap gave,
/// and a hint with its tips, the usage line and where to read more.
pub(crate) fn as_error(e: &clap::Error) -> Error {
    let text = e.render().to_string();
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return missing_subcommand(&text);
    }
    let mut message = Vec::new();
    let mut tips = Vec::new();
    let mut usage: Option<String> = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = line.strip_prefix("Usage:") {
            usage = Some(u.trim().to_string());
        } else if let Some(t) = line.strip_prefix("tip:") {
            tips.push(t.trim().to_string());
        } else if line.starts_with("For more information") {
            // Said below, with the command's own --help.
        } else {
            message.push(
                line.strip_prefix("error:")
                    .unwrap_or(line)
                    .trim()
                    .to_string(),
            );
        }
    }
    let mut hint = tips;
    // The command's words (before its options and arguments) name its --help.
    let command: Vec<&str> = usage
        .as_deref()
        .unwrap_or("offsite")
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<', '-']))
        .collect();
    if let Some(u) = &usage {
        hint.push(format!("usage: {u}"));
    }
    hint.push(format!("see `{} --help`", command.join(" ")));
    let message = if message.is_empty() {
        "the command line is not valid".to_string()
    } else {
        message.join(" ")
    };
    Error::invalid(message).with_hint(hint.join("; "))
}

/// A command given without its subcommand (`offsite project`): clap's text is the whole help;
/// the error names the command and lists its subcommands.
fn missing_subcommand(help: &str) -> Error {
    let usage = help
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage:"))
        .unwrap_or("offsite")
        .trim();
    let command: Vec<&str> = usage
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<', '-']))
        .collect();
    let command = command.join(" ");
    // The first word of each line of the "Commands:" section.
    let subcommands: Vec<&str> = help
        .lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    Error::invalid(format!(
        "`{command}` needs a subcommand: {}",
        subcommands.join(", ")
    ))
    .with_hint(format!("usage: {usage}; see `{command} --help`"))
}

/// Report a command line clap refused, as text (clap's own) or as JSON; returns the exit code.
/// `--help` and `--version` are not errors: they print as usual and exit 0.
pub(crate) fn report(e: clap::Error, json: bool) -> u8 {
    if !e.use_stderr() {
        if json && e.kind() == clap::error::ErrorKind::DisplayVersion {
            // `--json --version`: the same facts as the long version, as one JSON document.
            match serde_json::to_string_pretty(&offsite_core::version_info()) {
                Ok(doc) => println!("{doc}"),
                Err(_) => return crate::exit::FAILURE,
            }
            return 0;
        }
        let _ = e.print();
        return 0;
    }
    if json {
        Out::new(true).error(&as_error(&e));
    } else {
        let _ = e.print();
    }
    crate::exit::USAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn json_is_found_before_the_double_dash_only() {
        assert!(json_requested(args(&["offsite", "--json", "backup"])));
        assert!(json_requested(args(&["offsite", "backup", "--json"])));
        assert!(!json_requested(args(&["offsite", "backup"])));
        assert!(!json_requested(args(&[
            "offsite", "backup", "--", "--json"
        ])));
        assert!(
            !json_requested(args(&["--json"])),
            "argv[0] is not an argument"
        );
    }
}
