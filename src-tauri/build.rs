//! Build script of the desktop shell.
//!
//! The package manifest (and `tauri.conf.json`) live at the repository root while the shell's
//! sources live in `src-tauri/`. tauri-build resolves paths against the package root (the build
//! script's working directory), so the capabilities glob points into `src-tauri/capabilities`;
//! with a custom pattern tauri-build does not watch that directory itself, hence the explicit
//! `rerun-if-changed`. (tauri-build also writes generated capability schemas to `gen/schemas/`
//! at the package root.)

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes =
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*");
    tauri_build::try_build(attributes).expect("failed to run tauri-build");
}
