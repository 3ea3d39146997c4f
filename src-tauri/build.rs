//! Build script of the desktop shell.
//!
//! The package manifest (and `tauri.conf.json`) live at the repository root while the shell's
//! sources live in `src-tauri/`. tauri-build resolves paths against the package root (the build
//! script's working directory), so the capabilities glob points into `src-tauri/capabilities`;
//! with a custom pattern tauri-build does not watch that directory itself, hence the explicit
//! `rerun-if-changed`. (tauri-build also writes generated capability schemas to `gen/schemas/`
//! at the package root.)

/// The app's commands. Each gets an `allow-<command>` permission; a command not granted in
/// `src-tauri/capabilities/` cannot be called from the page (a test checks that every command
/// the app registers is listed here).
const COMMANDS: &[&str] = &[
    "app_info",
    "list_projects",
    "get_project",
    "add_project",
    "update_project",
    "remove_project",
    "test_connection",
    "supabase_project",
    "get_components",
    "set_storage",
    "set_supabase",
    "set_default_backup_type",
    "test_storage",
    "server_fingerprint",
    "set_server",
    "start_remote_backup",
    "start_pull",
    "set_artifacts",
    "list_backups",
    "list_jobs",
    "start_backup",
    "start_verify",
    "plan_restore",
    "start_restore",
    "cancel_job",
    "inspect_archive",
    "inspect_import",
    "start_import",
    "get_desktop_settings",
    "set_desktop_settings",
    "detect_tools",
    "get_autostart",
    "set_autostart",
    "delete_backup",
    "show_in_folder",
    "reveal_file",
    "list_source_tests",
    "pick_path",
    "list_schedules",
    "removal_forecast",
    "set_schedule",
    "pause_schedule",
    "clear_schedule",
    "preview_schedule",
    "get_retention",
    "set_retention",
    "preview_prune",
    "apply_retention",
    "project_status",
    "health",
    "open_supabase_dashboard",
    "job_history",
    "update_status",
    "check_for_update",
    "install_update",
    "get_encryption",
    "set_encryption",
    "confirm_recovery",
    "save_recovery_file",
    "get_default_encryption",
    "set_default_encryption",
    "list_destinations",
    "add_destination",
    "remove_destination",
    "test_destination",
    "list_copies",
    "get_protection",
    "start_sync",
    "start_fetch_copy",
    "start_drill",
    "list_drills",
    "get_drill",
    "get_drill_settings",
    "set_drill_settings",
    "list_validation_checks",
    "add_validation_check",
    "remove_validation_check",
    "browse_tables",
    "browse_rows",
    "export_table_csv",
    "browse_objects",
    "object_preview",
    "save_object",
    "verify_drill_signature",
    "save_drill_report",
    "list_channels",
    "add_channel",
    "remove_channel",
    "test_channel",
    "check_telegram_api",
    "set_notify_route",
    "notify_log",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("failed to run tauri-build");
}
