//! Every `offsite` example in README.md and docs/ is parsed by the real argument parser, so a
//! renamed or removed flag cannot stay documented.
//!
//! An example is a line in a ```sh, ```bash, ```shell or ```console block that starts with
//! `offsite ` or `$ offsite ` (after `NAME=value` environment prefixes, or after a pipe),
//! continuation lines (`\` at the end) joined. It is split like a shell does, cut at the first
//! pipe, redirection or `&&`/`||`/`;`, and must parse.
//!
//! A synopsis is a line starting with `offsite ` in a block without a language (the usage
//! summaries: `[--flag]`, `a|b`, `…`), indented lines after it joined. It cannot be parsed as
//! it stands, so its subcommands are followed and every `--flag` it names must be a flag of one
//! of them.

use super::Cli;
use clap::error::ErrorKind as ClapKind;
use clap::Parser;
use std::path::{Path, PathBuf};

/// The example command lines of one Markdown text: (line number, the command line).
fn examples(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_shell = false;
    let mut in_other = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_shell || in_other {
                in_shell = false;
                in_other = false;
            } else {
                let lang = info.split([' ', ',', '{']).next().unwrap_or("");
                in_shell = matches!(lang, "sh" | "bash" | "shell" | "console");
                in_other = !in_shell;
            }
            pending = None;
            continue;
        }
        if !in_shell {
            continue;
        }
        let (start, mut text) = match pending.take() {
            Some((start, mut text)) => {
                text.push(' ');
                text.push_str(trimmed);
                (start, text)
            }
            None => (i + 1, trimmed.to_string()),
        };
        if text.ends_with('\\') {
            text.pop();
            pending = Some((start, text));
            continue;
        }
        out.push((start, text));
    }
    out.into_iter()
        .filter_map(|(n, text)| {
            let text = text.strip_prefix("$ ").unwrap_or(&text).trim().to_string();
            let words = shlex::split(&text)?;
            // The command after a pipe (`printf … | offsite …`) is an example too.
            let starts = std::iter::once(0).chain(
                words
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| *w == "|")
                    .map(|(i, _)| i + 1),
            );
            starts
                .map(|at| without_env_prefix(words[at..].to_vec()))
                .find(|w| w.first().map(String::as_str) == Some("offsite"))
                .map(|w| (n, w.join("\u{0}")))
        })
        .collect()
}

/// Drops leading `NAME=value` words (environment for the command).
fn without_env_prefix(words: Vec<String>) -> Vec<String> {
    let is_env = |w: &String| {
        w.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    words.into_iter().skip_while(is_env).collect()
}

/// The words of the command itself: up to the first pipe, list operator or redirection (a
/// word with a space in it was quoted, so `--expect ">= 1000"` is an argument, not a redirection).
pub(crate) fn command_words(joined: &str) -> Vec<String> {
    joined
        .split('\u{0}')
        .take_while(|w| {
            let redirect = !w.contains(' ')
                && (w.starts_with('>')
                    || w.starts_with('<')
                    || w.starts_with("2>")
                    || w.starts_with("1>"));
            !matches!(*w, "|" | "||" | "&&" | ";" | "&") && !redirect
        })
        .map(str::to_string)
        .collect()
}

/// `Ok` when clap accepts the words (a `--help` or `--version` example included).
pub(crate) fn parses(words: &[String]) -> Result<(), String> {
    match Cli::try_parse_from(words) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ClapKind::DisplayHelp | ClapKind::DisplayVersion) => Ok(()),
        Err(e)
            if e.kind() == ClapKind::DisplayHelpOnMissingArgumentOrSubcommand
                && words.len() <= 2 =>
        {
            Ok(())
        }
        Err(e) => Err(e.to_string().lines().next().unwrap_or("").to_string()),
    }
}

fn markdown_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The synopsis lines of one Markdown text: (line number, the line without its comment).
fn synopses(markdown: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut in_plain = false;
    let mut in_other = false;
    let mut continuing = false;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_plain || in_other {
                (in_plain, in_other) = (false, false);
            } else {
                in_plain = info.trim().is_empty();
                in_other = !in_plain;
            }
            continuing = false;
            continue;
        }
        if !in_plain {
            continue;
        }
        let text = trimmed.split(" #").next().unwrap_or("").trim();
        if text.starts_with("offsite ") {
            out.push((i + 1, text.to_string()));
            continuing = true;
        } else if continuing && line.starts_with(' ') && !text.is_empty() {
            let last = out.last_mut().expect("a synopsis before its continuation");
            last.1.push(' ');
            last.1.push_str(text);
        } else {
            continuing = false;
        }
    }
    out
}

/// The long flags (`--x`) of `cmd`, its aliases included.
fn long_flags(cmd: &clap::Command) -> Vec<String> {
    cmd.get_arguments()
        .flat_map(|a| a.get_long_and_visible_aliases().unwrap_or_default())
        .map(|l| format!("--{l}"))
        .collect()
}

/// The flags a synopsis names that none of its commands has.
fn unknown_synopsis_flags(line: &str) -> Vec<String> {
    use clap::CommandFactory;
    let root = Cli::command();
    let mut known = long_flags(&root);
    known.extend(["--help".to_string(), "--version".to_string()]);
    // Follow the subcommands named (`a|b` names both), wherever they appear in the line.
    let mut current = vec![root.clone()];
    for word in line.split_whitespace().skip(1) {
        let word = word.trim_matches(|c| matches!(c, '[' | ']' | '(' | ')' | '…'));
        if word.starts_with('-') || word.is_empty() {
            continue;
        }
        let next: Vec<clap::Command> = word
            .split('|')
            .filter_map(|name| {
                current
                    .iter()
                    .chain(std::iter::once(&root))
                    .find_map(|c| c.find_subcommand(name).cloned())
            })
            .collect();
        if !next.is_empty() {
            for c in &next {
                known.extend(long_flags(c));
            }
            current = next;
        }
    }
    let mut unknown = Vec::new();
    for (at, _) in line.match_indices("--") {
        let flag: String = line[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let rest = &line[at + flag.len()..];
        // `--s3-*`: a family of flags, not one.
        if flag.len() <= 2 || rest.starts_with('*') || (at > 0 && line[..at].ends_with('-')) {
            continue;
        }
        if !known.contains(&flag) {
            unknown.push(flag);
        }
    }
    unknown
}

/// The problems of every example and synopsis in `markdown` (named `file`).
fn check(file: &str, markdown: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (line, text) in synopses(markdown) {
        for flag in unknown_synopsis_flags(&text) {
            problems.push(format!("{file}:{line}: `{text}`: no such flag {flag}"));
        }
    }
    for (line, joined) in examples(markdown) {
        let words = command_words(&joined);
        if let Err(why) = parses(&words) {
            problems.push(format!("{file}:{line}: `{}`: {why}", words.join(" ")));
        }
    }
    problems
}

#[test]
fn every_documented_example_parses() {
    let mut problems = Vec::new();
    let mut count = 0;
    for path in markdown_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        count += examples(&text).len() + synopses(&text).len();
        problems.extend(check(&name, &text));
    }
    // The docs show many commands; finding few means the extraction broke.
    assert!(
        count >= 50,
        "only {count} examples found in README.md and docs/"
    );
    assert!(
        problems.is_empty(),
        "examples the offsite parser refuses:\n{}",
        problems.join("\n")
    );
}

#[test]
fn an_unknown_flag_is_caught() {
    let md = "text\n\n```sh\n# a comment\noffsite backup prod --no-such-flag\n```\n";
    let problems = check("x.md", md);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("x.md:5: `offsite backup prod --no-such-flag`"));
    // The same command without it is fine.
    assert!(check("x.md", "```sh\noffsite backup prod\n```\n").is_empty());
}

#[test]
fn continuations_prompts_env_and_pipes() {
    let md = "```console\n$ OFFSITE_DATA_DIR=/d offsite backup prod \\\n    --bogus | tee x\n```\n\
              ```text\noffsite --bogus\n```\n```bash\necho offsite --bogus\n```\n";
    let found = examples(md);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 2);
    assert_eq!(
        command_words(&found[0].1),
        ["offsite", "backup", "prod", "--bogus"]
    );
    assert_eq!(check("x.md", md).len(), 1);
    assert!(check("x.md", "```sh\noffsite backup prod > out.txt 2>&1\n```\n").is_empty());
}

#[test]
fn an_unknown_flag_in_a_synopsis_is_caught() {
    let md =
        "```\noffsite backup NAME [--dest DIR] [--level N]   # --json too\n    [--bogus]\n```\n";
    let problems = check("x.md", md);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].ends_with("no such flag --bogus"),
        "{problems:?}"
    );
    // Flags of a subcommand named later in the line count; a flag of another command does not.
    let ok = "```\noffsite project add|components NAME --server URL [--token-stdin]\n```\n";
    assert!(check("x.md", ok).is_empty(), "{:?}", check("x.md", ok));
    let wrong = "```\noffsite verify ARCHIVE --dest DIR\n```\n";
    assert_eq!(check("x.md", wrong).len(), 1);
}

/// Every command path (`offsite project add`, `offsite serve token create`) clap knows, hidden
/// ones and `help` left out.
fn command_paths() -> Vec<String> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    let mut todo = vec![("offsite".to_string(), Cli::command())];
    while let Some((path, cmd)) = todo.pop() {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" || sub.is_hide_set() {
                continue;
            }
            let p = format!("{path} {}", sub.get_name());
            out.push(p.clone());
            todo.push((p, sub.clone()));
        }
    }
    out.sort();
    out
}

/// Whether `flag` (`--x`) of one of `cmds` takes a value (the next word is then its value).
fn takes_value(cmds: &[&clap::Command], flag: &str) -> bool {
    let name = flag.trim_start_matches('-');
    cmds.iter().any(|c| {
        c.get_arguments().any(|a| {
            a.get_long_and_visible_aliases()
                .unwrap_or_default()
                .contains(&name)
                && a.get_action().takes_values()
        })
    })
}

/// The command paths one synopsis line names (`a|b` names both; a lone `|` outside brackets
/// before a word that is no flag starts another command), or an error naming a first word
/// that is no command.
fn synopsis_commands(line: &str) -> Result<Vec<String>, String> {
    use clap::CommandFactory;
    let root = Cli::command();
    let mut named = Vec::new();
    let mut current: Vec<(String, clap::Command)> = vec![("offsite".into(), root.clone())];
    let mut fresh = true;
    let mut after_bar = false;
    let mut skip_value = false;
    let mut depth = 0i32;
    for raw in line.split_whitespace().skip(1) {
        let at_depth = depth;
        depth += raw.matches(['[', '(']).count() as i32 - raw.matches([']', ')']).count() as i32;
        if raw == "|" {
            after_bar = at_depth == 0;
            continue;
        }
        let word = raw.trim_matches(|c| matches!(c, '[' | ']' | '(' | ')' | '…'));
        if after_bar && !word.starts_with('-') {
            current = vec![("offsite".into(), root.clone())];
            fresh = true;
        }
        after_bar = false;
        if word.starts_with('-') {
            let mut cmds: Vec<&clap::Command> = current.iter().map(|(_, c)| c).collect();
            cmds.push(&root);
            skip_value = !word.contains('=') && takes_value(&cmds, word);
            continue;
        }
        if std::mem::take(&mut skip_value) || word.is_empty() {
            continue;
        }
        let next: Vec<(String, clap::Command)> = word
            .split('|')
            .filter_map(|name| {
                current.iter().find_map(|(p, c)| {
                    c.find_subcommand(name)
                        .map(|s| (format!("{p} {name}"), s.clone()))
                })
            })
            .collect();
        if next.is_empty() {
            if fresh && current.len() == 1 && current[0].0 == "offsite" {
                return Err(format!("`{word}` is not an offsite command"));
            }
            fresh = false;
            continue;
        }
        fresh = false;
        named.extend(next.iter().map(|(p, _)| p.clone()));
        current = next;
    }
    Ok(named)
}

/// docs/cli.md's synopsis names every command of the binary, and nothing that is not one.
#[test]
fn the_cli_synopsis_names_every_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/cli.md")).unwrap();
    let (missing, wrong) = synopsis_gaps(&doc);
    assert!(
        wrong.is_empty(),
        "docs/cli.md names commands offsite does not have:\n{}",
        wrong.join("\n")
    );
    assert!(
        missing.is_empty(),
        "commands missing from docs/cli.md's synopsis:\n{}",
        missing.join("\n")
    );
}

/// (commands the synopsis lacks, synopsis lines naming no command).
fn synopsis_gaps(doc: &str) -> (Vec<String>, Vec<String>) {
    let mut covered = std::collections::BTreeSet::new();
    let mut wrong = Vec::new();
    for (line, text) in synopses(doc) {
        match synopsis_commands(&text) {
            Ok(named) => covered.extend(named),
            Err(why) => wrong.push(format!("docs/cli.md:{line}: {why}")),
        }
    }
    let missing = command_paths()
        .into_iter()
        .filter(|p| !covered.contains(p))
        .collect();
    (missing, wrong)
}

#[test]
fn a_command_missing_from_the_synopsis_is_caught() {
    let md = "```\noffsite backup NAME\noffsite project list | project show NAME\n```\n";
    let (missing, wrong) = synopsis_gaps(md);
    assert!(wrong.is_empty(), "{wrong:?}");
    assert!(!missing.contains(&"offsite backup".to_string()));
    assert!(!missing.contains(&"offsite project".to_string()));
    assert!(!missing.contains(&"offsite project show".to_string()));
    assert!(missing.contains(&"offsite project add".to_string()));
    assert!(missing.contains(&"offsite status".to_string()));
    let (_, wrong) = synopsis_gaps("```\noffsite frobnicate NAME\n```\n");
    assert_eq!(wrong.len(), 1, "{wrong:?}");
}
