//! Every relative link in README.md and docs/**/*.md leads to a file of this repository: none
//! is broken, and none leaves the repository (a clone has nothing outside it, such as the
//! team's `../shared` notes).

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// README.md, CHANGELOG.md and every Markdown file under docs/.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
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

/// The link targets of a Markdown text, with their line numbers: `[text](target)` and
/// `[name]: target`, outside code blocks and `code spans`.
fn links(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_code = false;
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Drop code spans.
        let mut text = String::new();
        for (n, part) in line.split('`').enumerate() {
            if n % 2 == 0 {
                text.push_str(part);
            }
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push((i + 1, target.trim_matches(['<', '>']).to_string()));
            rest = &after[end..];
        }
        let t = text.trim_start();
        if t.starts_with('[') {
            if let Some((_, target)) = t.split_once("]: ") {
                out.push((i + 1, target.split_whitespace().next().unwrap_or("").into()));
            }
        }
    }
    out
}

/// What is wrong with one link of `file` (`None`: it leads to a file of the repository).
fn problem(root: &Path, file: &Path, target: &str) -> Option<String> {
    if target.is_empty() || target.starts_with('#') || target.contains("://") {
        return None;
    }
    if target.starts_with("mailto:") {
        return None;
    }
    let path = target.split(['#', '?']).next().unwrap_or("");
    if path.split('/').any(|seg| seg == "shared") && path.contains("..") {
        return Some(format!(
            "{target}: the team's notes are not in the repository"
        ));
    }
    if path.starts_with('/') {
        return Some(format!(
            "{target}: an absolute path, not a link into the repository"
        ));
    }
    let resolved = file.parent().unwrap().join(path);
    match resolved.canonicalize() {
        Err(_) => Some(format!("{target}: no such file")),
        Ok(p) if !p.starts_with(root) => Some(format!("{target}: outside the repository")),
        Ok(_) => None,
    }
}

fn problems_of(root: &Path, file: &Path, markdown: &str) -> Vec<String> {
    let name = file
        .strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string();
    links(markdown)
        .into_iter()
        .filter_map(|(line, target)| {
            problem(root, file, &target).map(|why| format!("{name}:{line}: {why}"))
        })
        .collect()
}

#[test]
fn every_relative_link_in_the_docs_leads_into_the_repository() {
    let root = repo_root();
    let mut problems = Vec::new();
    let mut count = 0;
    for file in markdown_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        count += links(&text).len();
        problems.extend(problems_of(&root, &file, &text));
    }
    assert!(
        count >= 50,
        "only {count} links found: the extraction broke"
    );
    assert!(
        problems.is_empty(),
        "links that lead nowhere:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_link_out_of_the_repository_or_to_nothing_is_caught() {
    let root = repo_root();
    let file = root.join("docs/cli.md");
    let md = "See [design](../../shared/DESIGN.md), [data](data.md), [x](nope.md#a), \
              [web](https://example.com), `[code](../x.md)` and [up](../../../etc/passwd).\n\
              ```\n[block](nowhere.md)\n```\n[ref]: ../shared/DESIGN.md\n";
    let found = problems_of(&root, &file, md);
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found[0].contains("shared"), "{found:?}");
    assert!(found[1].contains("nope.md"), "{found:?}");
    assert!(found[2].contains("etc/passwd"), "{found:?}");
    assert!(found[3].contains("shared"), "{found:?}");
}
