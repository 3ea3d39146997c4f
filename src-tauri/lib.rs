//! Offsite's desktop shell: builds the Tauri app and registers its commands.
//!
//! The shell stays thin: commands map IPC arguments to engine calls (`offsite_core`) and engine
//! errors to [`offsite_core::ErrorPayload`]; the engine never knows about windows.

mod commands;

pub use commands::AppInfo;

/// Builds and runs the desktop app; returns when the last window closes.
pub fn run() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::app_info])
        .run(tauri::generate_context!())
        .expect("error while running the Offsite desktop app");
}
