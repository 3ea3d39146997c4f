//! The engine's floors (`docs/architecture.md`): a module of `crates/core/src` imports only its
//! own floor or below. Every `crate::…` and `super::…` path in production code (test code,
//! `#[cfg(test)]`, is exempt) is resolved to the top-level module it names — through the crate
//! root's re-exports for names like `crate::Engine` — and compared with the table below. One line
//! per offence: `drill/run.rs:12 domain (drill) → engine (engine)`.
//!
//! There is no allowlist: any upward import fails here, and so does any circle of imports between
//! top-level modules other than `ops` ↔ `engine`.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Floor names, lowest first.
const FLOOR_NAMES: [&str; 7] = [
    "ground", "format", "domain", "store", "service", "ops", "engine",
];

/// Every top-level module of the crate, and its floor (an index into `FLOOR_NAMES`). A module
/// missing here fails the test: a new one gets its floor when it is added.
const FLOORS: &[(&str, usize)] = &[
    // 0 ground: no domain knowledge.
    ("error", 0),
    ("clock", 0),
    ("progress", 0),
    ("units", 0),
    ("words", 0),
    ("text_enum", 0),
    ("private_fs", 0),
    ("tempfiles", 0),
    ("writeback", 0),
    ("allocator", 0),
    ("secrets", 0),
    ("version", 0),
    ("retry", 0),
    ("nofollow", 0),
    ("process_tree", 0),
    ("kinds", 0),
    ("digest", 0),
    // 1 formats and pure rules.
    ("archive", 1),
    ("plainsql", 1),
    ("pgdump", 1),
    ("pgoutput", 1),
    ("pitr", 2),
    ("crypto", 1),
    ("schedule", 1),
    ("selection", 1),
    // test code only (the shared fixtures: sample manifests and archives); exempt like all tests.
    ("test_fixtures", 1),
    // 2 domain.
    ("postgres", 2),
    ("storage", 2),
    ("sources", 2),
    ("destinations", 2),
    ("transfer", 2),
    ("config", 2),
    ("backup", 2),
    ("import", 2),
    ("browse", 2),
    ("diff", 2),
    ("restore", 2),
    ("recover", 2),
    ("drill", 2),
    ("notify", 2),
    ("parts", 2),
    ("parity", 2),
    // 3 the store of domain values.
    ("catalog", 3),
    // 4 services that read the catalog.
    ("health", 4),
    // 5 the operations.
    ("ops", 5),
    // 6 the engine, and the crate root (lib.rs).
    ("engine", 6),
    ("<root>", 6),
];

/// Where `crate::` paths may go between top-level modules against the floors (the one circle the
/// table allows: the operations take `&Engine`, the engine calls them).
fn allowed(from: &str, to: &str) -> bool {
    from == to || (from == "ops" && to == "engine")
}

fn floor(module: &str) -> Option<usize> {
    FLOORS.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

struct Offence {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// The source folder and the modules declared test-only (`#[cfg(test)] mod x;`), as paths.
struct Walk {
    src: PathBuf,
    test_only: BTreeSet<Vec<String>>,
    /// Files of test-only modules declared with `#[path = "…"]`, relative to `src`.
    test_files: BTreeSet<PathBuf>,
    /// The first pass only finds the test-only modules.
    finding_tests: bool,
    reexports: BTreeMap<String, String>,
    top_level: BTreeSet<String>,
    offences: Vec<Offence>,
    modules_seen: BTreeSet<String>,
    /// Every import between two top-level modules (from, to), whatever their floors.
    edges: BTreeSet<(String, String)>,
}

fn is_test_cfg(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && {
            let t = a.meta.to_token_stream().to_string();
            t.contains("test") && !t.contains("not")
        }
    })
}

/// The module path of a source file: `drill/run.rs` → [drill, run]; `x/mod.rs` → [x].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

impl Walk {
    fn file(&mut self, path: &Path) {
        let rel = path.strip_prefix(&self.src).unwrap().to_path_buf();
        let module = module_path(&rel);
        if self.test_files.contains(&rel)
            || self
                .test_only
                .iter()
                .any(|t| module.len() >= t.len() && module[..t.len()] == t[..])
        {
            return;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let file = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("{}: does not parse: {e}", rel.display()));
        if module.is_empty() && !self.finding_tests {
            // The crate root: its re-exports and its own items are named through `crate::`.
            self.read_root(&file);
        }
        self.items(&rel, &module, &file.items);
    }

    fn read_root(&mut self, file: &syn::File) {
        for item in &file.items {
            if let syn::Item::Use(u) = item {
                if let syn::UseTree::Path(p) = &u.tree {
                    let module = p.ident.to_string();
                    let mut names = Vec::new();
                    leaf_names(&p.tree, &mut names);
                    for n in names {
                        self.reexports.insert(n, module.clone());
                    }
                }
            }
        }
    }

    fn items(&mut self, rel: &Path, module: &[String], items: &[syn::Item]) {
        for item in items {
            let attrs: &[syn::Attribute] = match item {
                syn::Item::Mod(m) => &m.attrs,
                syn::Item::Fn(f) => &f.attrs,
                syn::Item::Impl(i) => &i.attrs,
                syn::Item::Use(u) => &u.attrs,
                syn::Item::Struct(s) => &s.attrs,
                syn::Item::Enum(e) => &e.attrs,
                syn::Item::Const(c) => &c.attrs,
                syn::Item::Static(s) => &s.attrs,
                syn::Item::Trait(t) => &t.attrs,
                syn::Item::Type(t) => &t.attrs,
                syn::Item::Macro(m) => &m.attrs,
                _ => &[],
            };
            if is_test_cfg(attrs) {
                if let syn::Item::Mod(m) = item {
                    let mut p = module.to_vec();
                    p.push(m.ident.to_string());
                    self.test_only.insert(p);
                    // `#[path = "x_tests.rs"]`: relative to the declaring file's folder.
                    for a in &m.attrs {
                        if let syn::Meta::NameValue(nv) = &a.meta {
                            if nv.path.is_ident("path") {
                                if let syn::Expr::Lit(syn::ExprLit {
                                    lit: syn::Lit::Str(file),
                                    ..
                                }) = &nv.value
                                {
                                    let dir = rel.parent().unwrap_or(Path::new(""));
                                    self.test_files.insert(dir.join(file.value()));
                                }
                            }
                        }
                    }
                }
                continue;
            }
            if self.finding_tests {
                if let syn::Item::Mod(m) = item {
                    if let Some((_, inner)) = &m.content {
                        let mut p = module.to_vec();
                        p.push(m.ident.to_string());
                        self.items(rel, &p, inner);
                    }
                }
                continue;
            }
            if let syn::Item::Mod(m) = item {
                if let Some((_, inner)) = &m.content {
                    let mut p = module.to_vec();
                    p.push(m.ident.to_string());
                    self.items(rel, &p, inner);
                }
                continue;
            }
            self.tokens(rel, module, item.to_token_stream());
        }
    }

    /// Every `crate :: x` and `super :: … x` in `ts`.
    fn tokens(&mut self, rel: &Path, module: &[String], ts: TokenStream) {
        let toks: Vec<TokenTree> = ts.into_iter().collect();
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                TokenTree::Group(g) => self.tokens(rel, module, g.stream()),
                TokenTree::Ident(id) if *id == "crate" && colons(&toks, i + 1) => {
                    let line = id.span().start().line;
                    for name in names_after(&toks, i + 3) {
                        self.target(rel, module, line, &[], &name);
                    }
                    i += 3;
                    continue;
                }
                TokenTree::Ident(id) if *id == "super" && colons(&toks, i + 1) => {
                    let line = id.span().start().line;
                    let mut up = 0;
                    let mut j = i;
                    while matches!(&toks.get(j), Some(TokenTree::Ident(s)) if *s == "super")
                        && colons(&toks, j + 1)
                    {
                        up += 1;
                        j += 3;
                    }
                    let base = &module[..module.len().saturating_sub(up)];
                    for name in names_after(&toks, j) {
                        self.target(rel, module, line, base, &name);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// `name`, reached from `base` (a module path; empty: the crate root), as a top-level module.
    fn target(&mut self, rel: &Path, module: &[String], line: usize, base: &[String], name: &str) {
        let from = module.first().cloned().unwrap_or_else(|| "<root>".into());
        let to = match base.first() {
            Some(top) => top.clone(),
            None if self.top_level.contains(name) => name.to_string(),
            None => self
                .reexports
                .get(name)
                .cloned()
                .unwrap_or_else(|| "<root>".into()),
        };
        self.modules_seen.insert(from.clone());
        if from != to {
            self.edges.insert((from.clone(), to.clone()));
        }
        if allowed(&from, &to) {
            return;
        }
        let (Some(f), Some(t)) = (floor(&from), floor(&to)) else {
            return; // reported by the table check
        };
        if t > f {
            self.offences.push(Offence {
                file: rel.display().to_string(),
                line,
                from,
                to,
            });
        }
    }
}

fn colons(toks: &[TokenTree], at: usize) -> bool {
    matches!((toks.get(at), toks.get(at + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':')
}

/// The first name after `crate::` (or the names of a `{a, b::c}` group).
fn names_after(toks: &[TokenTree], at: usize) -> Vec<String> {
    match toks.get(at) {
        Some(TokenTree::Ident(id)) => vec![id.to_string()],
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
            let mut out = Vec::new();
            let mut expect = true;
            for t in g.stream() {
                match &t {
                    TokenTree::Ident(id) if expect => {
                        out.push(id.to_string());
                        expect = false;
                    }
                    TokenTree::Punct(p) if p.as_char() == ',' => expect = true,
                    _ => {}
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

fn leaf_names(tree: &syn::UseTree, out: &mut Vec<String>) {
    match tree {
        syn::UseTree::Path(p) => leaf_names(&p.tree, out),
        syn::UseTree::Name(n) => out.push(n.ident.to_string()),
        syn::UseTree::Rename(r) => out.push(r.rename.to_string()),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| leaf_names(t, out)),
        syn::UseTree::Glob(_) => {}
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The crate's offences, and the top-level modules it declares.
fn walk() -> (&'static [Offence], &'static BTreeSet<String>) {
    let w = walked();
    (&w.offences, &w.top_level)
}

/// The crate, walked once for all the tests.
fn walked() -> &'static Walk {
    static WALK: std::sync::OnceLock<Walk> = std::sync::OnceLock::new();
    WALK.get_or_init(walk_crate)
}

fn walk_crate() -> Walk {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let lib = syn::parse_file(&lib).unwrap();
    let top_level: BTreeSet<String> = lib
        .items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Mod(m) => Some(m.ident.to_string()),
            _ => None,
        })
        .collect();
    let mut w = Walk {
        src: src.clone(),
        test_only: BTreeSet::new(),
        test_files: BTreeSet::new(),
        finding_tests: true,
        reexports: BTreeMap::new(),
        top_level: top_level.clone(),
        offences: Vec::new(),
        modules_seen: BTreeSet::new(),
        edges: BTreeSet::new(),
    };
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // The root first (its re-exports), then parents before children (`#[cfg(test)] mod x;`).
    files.sort_by_key(|p| {
        let rel = p.strip_prefix(&src).unwrap().to_path_buf();
        (module_path(&rel).len(), rel)
    });
    for f in &files {
        w.file(f);
    }
    w.finding_tests = false;
    for f in &files {
        w.file(f);
    }
    w
}

/// The import circles between top-level modules: each strongly connected set of two or more.
fn circles(edges: &BTreeSet<(String, String)>) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for (a, b) in edges {
                if *a == n && seen.insert(b.clone()) {
                    todo.push(b.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut out: Vec<BTreeSet<String>> = Vec::new();
    for n in &nodes {
        let scc: BTreeSet<String> = nodes
            .iter()
            .filter(|m| reach[*n].contains(**m) && reach[**m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        if scc.len() > 1 && !out.contains(&scc) {
            out.push(scc);
        }
    }
    out
}

#[test]
fn the_only_import_circle_is_ops_and_engine() {
    let w = walked();
    let found = circles(&w.edges);
    let allowed: BTreeSet<String> = ["engine", "ops"].iter().map(|s| s.to_string()).collect();
    let unexpected: Vec<&BTreeSet<String>> = found.iter().filter(|c| **c != allowed).collect();
    assert!(
        unexpected.is_empty(),
        "import circles between top-level modules (only ops ↔ engine is allowed): {unexpected:#?}"
    );
}

#[test]
fn every_top_level_module_has_a_floor() {
    let (_, top_level) = walk();
    let missing: Vec<&String> = top_level.iter().filter(|m| floor(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "modules without a floor (add them to FLOORS here and to docs/architecture.md): {missing:?}"
    );
}

#[test]
fn a_module_imports_only_its_own_floor_or_below() {
    let (offences, _) = walk();
    let mut by_pair: BTreeMap<(String, String), Vec<&Offence>> = BTreeMap::new();
    for o in offences {
        by_pair
            .entry((o.file.clone(), o.to.clone()))
            .or_default()
            .push(o);
    }
    let mut report = String::new();
    for list in by_pair.values() {
        for o in list {
            report.push_str(&format!(
                "{}:{} {} ({}) → {} ({})\n",
                o.file,
                o.line,
                FLOOR_NAMES[floor(&o.from).unwrap()],
                o.from,
                FLOOR_NAMES[floor(&o.to).unwrap()],
                o.to
            ));
        }
    }
    assert!(
        report.is_empty(),
        "imports above the importing module's floor (docs/architecture.md):\n{report}"
    );
}

/// The scanner itself: an upward import in a snippet is found, a test module's is not.
#[test]
fn the_scanner_finds_an_upward_import_and_skips_test_code() {
    let dir = tempfile_dir();
    std::fs::create_dir_all(dir.join("drill")).unwrap();
    std::fs::write(
        dir.join("lib.rs"),
        "pub mod drill; pub mod engine; pub use engine::Engine;",
    )
    .unwrap();
    std::fs::write(
        dir.join("drill/run.rs"),
        "use crate::progress::Reporter;\n\
         pub fn run(e: &crate::Engine) { super::super::engine::go(); }\n\
         #[cfg(test)]\nmod tests { use crate::ops::x; }\n\
         #[cfg(test)]\n#[path = \"run_tests.rs\"]\nmod more_tests;\n",
    )
    .unwrap();
    std::fs::write(dir.join("drill/run_tests.rs"), "use crate::ops::y;\n").unwrap();
    let mut w = Walk {
        src: dir.clone(),
        test_only: BTreeSet::new(),
        test_files: BTreeSet::new(),
        finding_tests: true,
        reexports: BTreeMap::new(),
        top_level: ["drill", "engine", "progress", "ops"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        offences: Vec::new(),
        modules_seen: BTreeSet::new(),
        edges: BTreeSet::new(),
    };
    let files = [
        dir.join("lib.rs"),
        dir.join("drill/run.rs"),
        dir.join("drill/run_tests.rs"),
    ];
    for finding_tests in [true, false] {
        w.finding_tests = finding_tests;
        for f in &files {
            w.file(f);
        }
    }
    let found: Vec<(String, usize, String)> = w
        .offences
        .iter()
        .map(|o| (o.file.clone(), o.line, o.to.clone()))
        .collect();
    assert_eq!(
        found,
        [
            ("drill/run.rs".to_string(), 2, "engine".to_string()),
            ("drill/run.rs".to_string(), 2, "engine".to_string())
        ]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("offsite-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
