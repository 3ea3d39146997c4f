//! Every subcommand's `--help` shows examples that the real parser accepts, every argument has
//! a one-line description, and the global flags are listed apart from a command's own.

use super::docs_examples::{command_words, parses};
use super::Cli;
use clap::CommandFactory;

/// Every command below `offsite` (nested ones too), with its path (`offsite project add`).
fn commands() -> Vec<(String, clap::Command)> {
    let mut root = Cli::command();
    root.build();
    let mut out = Vec::new();
    let mut todo = vec![("offsite".to_string(), root)];
    while let Some((path, cmd)) = todo.pop() {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let sub_path = format!("{path} {}", sub.get_name());
            todo.push((sub_path.clone(), sub.clone()));
            out.push((sub_path, sub.clone()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The example lines of a command's help: the lines after "Examples:" that start with
/// `offsite ` (indented), as the words of the command.
pub(crate) fn help_examples(cmd: &clap::Command) -> Vec<String> {
    let text = [cmd.get_after_help(), cmd.get_after_long_help()]
        .into_iter()
        .flatten()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let Some((_, examples)) = text.split_once("Examples:") else {
        return Vec::new();
    };
    examples
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("offsite ") || l.starts_with("printf ") || l.contains("| offsite ")
        })
        .map(str::to_string)
        .collect()
}

/// The words of one example line: the `offsite …` command (after a pipe too), split like a
/// shell does, up to a redirection or list operator.
fn words_of(line: &str) -> Vec<String> {
    let words = shlex::split(line).unwrap_or_else(|| panic!("unbalanced quotes: {line}"));
    let start = words
        .iter()
        .position(|w| w == "offsite")
        .unwrap_or_else(|| panic!("no offsite command in: {line}"));
    command_words(&words[start..].join("\u{0}"))
}

#[test]
fn every_subcommand_help_has_examples_the_parser_accepts() {
    let mut problems = Vec::new();
    let mut count = 0;
    for (path, cmd) in commands() {
        let examples = help_examples(&cmd);
        if examples.is_empty() {
            problems.push(format!("`{path} --help` has no Examples: section"));
        }
        // At least one example shows the command itself (others may show what goes with it).
        if !examples.is_empty()
            && !examples
                .iter()
                .any(|l| words_of(l).join(" ").starts_with(&path))
        {
            problems.push(format!("`{path} --help`: no example of `{path}` itself"));
        }
        for line in examples {
            count += 1;
            let words = words_of(&line);
            if let Err(why) = parses(&words) {
                problems.push(format!("`{path} --help`: `{line}`: {why}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(count >= 40, "only {count} examples found");
}

#[test]
fn every_argument_has_a_one_line_description() {
    let mut missing = Vec::new();
    let mut root = Cli::command();
    root.build();
    let all = std::iter::once(("offsite".to_string(), root)).chain(commands());
    for (path, cmd) in all {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            if help.trim().is_empty() {
                missing.push(format!("{path}: {id}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "arguments without help:\n{}",
        missing.join("\n")
    );
}

#[test]
fn global_flags_are_listed_apart_from_a_commands_own() {
    for (path, cmd) in commands() {
        let mut cmd = cmd.clone();
        let help = cmd.render_help().to_string();
        let help = help.replace("Global options:\n", "\u{0}");
        let (own, global) = help
            .split_once('\u{0}')
            .unwrap_or_else(|| panic!("`{path} --help` has no Global options section:\n{help}"));
        for flag in ["--json", "--data-dir <DIR>", "--pg-bin <DIR>"] {
            assert!(
                global.contains(flag),
                "{path}: {flag} not under Global options:\n{help}"
            );
            assert!(
                !own.lines().any(|l| l.trim_start().starts_with(flag)),
                "{path}: {flag} among the command's own:\n{help}"
            );
        }
    }
}

#[test]
fn a_broken_help_example_is_caught() {
    let cmd =
        clap::Command::new("x").after_help("Examples:\n  offsite backup prod --no-such-flag\n");
    let found = help_examples(&cmd);
    assert_eq!(found, vec!["offsite backup prod --no-such-flag"]);
    assert!(parses(&words_of(&found[0])).is_err());
    let piped = clap::Command::new("x")
        .after_help("Examples:\n  printf %s \"$PW\" | offsite project add prod --db postgres://u@h/d --password-stdin\n");
    let found = help_examples(&piped);
    assert!(parses(&words_of(&found[0])).is_ok(), "{found:?}");
}

/// docs/cli.md's one table of error codes and exit codes says what `exit_code` does, for every
/// error kind.
#[test]
fn the_docs_table_of_error_and_exit_codes_is_what_offsite_does() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md"),
    )
    .unwrap();
    let mut documented = std::collections::BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let code = cells[1].trim_matches('`').to_string();
        let exit: u8 = cells[2].trim_matches('`').parse().unwrap();
        assert!(
            documented.insert(code.clone(), exit).is_none(),
            "{code} twice"
        );
    }
    for &kind in offsite_core::ErrorKind::ALL {
        let e = offsite_core::Error::new(kind, "x");
        assert_eq!(
            documented.get(kind.code()).copied(),
            Some(super::exit_code(&e)),
            "docs/cli.md: the exit code of `{}`",
            kind.code()
        );
    }
    assert_eq!(documented.len(), offsite_core::ErrorKind::ALL.len());
}

/// The help shows archives as `offsite backup` names them by default (`.tar.zst`: zstd), and
/// no command's help sends the reader to that same help.
#[test]
fn help_names_archives_as_backup_writes_them_and_never_points_at_itself() {
    let mut problems = Vec::new();
    let mut root = Cli::command();
    root.build();
    let all = std::iter::once(("offsite".to_string(), root)).chain(commands());
    for (path, cmd) in all {
        for line in help_examples(&cmd) {
            let words = words_of(&line);
            if words.iter().any(|w| w.contains(".tar.gz")) {
                problems.push(format!("`{path} --help`: `{line}` names a .tar.gz archive"));
            }
        }
        let name = path.rsplit(' ').next().unwrap_or(&path).to_string();
        let about = [cmd.get_about(), cmd.get_long_about()]
            .into_iter()
            .flatten()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        if about.contains(&format!("{name} --help")) {
            problems.push(format!(
                "`{path}`: its description says to see its own --help"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
