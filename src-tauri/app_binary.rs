//! The app binary cargo builds beside this test is the one the end-to-end and install tests drive:
//! `.ci/test` builds it once, with the UI embedded (`cargo test --workspace --features
//! offsite-desktop/custom-protocol`), instead of building the app and the CLI a second time with
//! other features (that took 5 minutes of a CI run). Built only with that feature
//! (`required-features` in Cargo.toml).
//!
//! What it checks: the binary embeds the UI that `ui/dist` holds now — every file of the built UI
//! is one of the binary's assets — so a stale or missing UI fails here, not as a blank window in
//! the e2e run.
use std::path::Path;

#[test]
fn the_app_binary_embeds_the_built_ui() {
    let bin = std::fs::read(env!("CARGO_BIN_EXE_offsite-desktop")).expect("read the app binary");
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/dist");
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    assert!(
        files.iter().any(|f| f == "/index.html"),
        "ui/dist holds no index.html: run `npm --prefix ui run build`"
    );
    assert!(
        files.iter().any(|f| f.ends_with(".js")),
        "ui/dist holds no script: {files:?}"
    );
    let missing: Vec<&String> = files
        .iter()
        .filter(|f| !contains(&bin, f.as_bytes()))
        .collect();
    assert!(
        missing.is_empty(),
        "the app binary does not embed {missing:?} of ui/dist (built before the UI?)"
    );
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read ui/dist") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("below ui/dist")
                .to_string_lossy()
                .replace('\\', "/");
            out.push(format!("/{rel}"));
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
