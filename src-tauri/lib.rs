//! Offsite's desktop shell: builds the Tauri app and registers its commands and events.
//!
//! The shell stays thin: commands map IPC arguments to engine calls (`offsite_core`) and engine
//! errors to [`offsite_core::ErrorPayload`]; the engine never knows about windows. The TypeScript
//! bindings of the commands and events (`ui/src/bindings.ts`) are generated from this crate by
//! [`export_bindings`]; a test fails when the committed file is stale.

mod changes;
mod commands;
mod desktop;
mod jobs;
pub mod notify;
pub mod resume;
pub mod scheduler;
pub mod tray;
pub mod updates;

pub use changes::CatalogChanged;
pub use commands::{AppInfo, DesktopSettings};
pub use desktop::OpenProject;
pub use jobs::{
    JobDone, JobFinished, JobProgress, JobRegistry, JobResult, JobStarted, JobSubject,
    ScheduledProgress,
};
pub use offsite_core::ops::ProjectSummary;

use offsite_core::{Engine, EngineConfig, ErrorPayload};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tauri::Runtime;

/// The app's engine, opened at startup on the same data folder as the `offsite` command line.
/// When it could not be opened, every command that needs it answers with that error (the window
/// still opens and can show it).
pub struct Shell {
    engine: Result<Engine, ErrorPayload>,
}

impl Shell {
    pub fn new(engine: Result<Engine, ErrorPayload>) -> Self {
        Shell { engine }
    }

    fn engine(&self) -> Result<&Engine, ErrorPayload> {
        self.engine.as_ref().map_err(Clone::clone)
    }
}

/// The typed IPC surface for runtime `$runtime`: every command and event, for the invoke handler
/// and the bindings. (A macro: `collect_commands!` cannot name a generic runtime parameter.)
macro_rules! specta_builder {
    ($runtime:ty) => {
        tauri_specta::Builder::<$runtime>::new()
            .commands(tauri_specta::collect_commands![
                commands::app_info::<$runtime>,
                commands::projects::list_projects,
                commands::projects::get_project,
                commands::projects::add_project,
                commands::projects::update_project,
                commands::projects::remove_project,
                commands::projects::test_connection,
                commands::projects::supabase_project,
                commands::components::get_components,
                commands::components::set_storage,
                commands::components::set_supabase,
                commands::components::set_default_backup_type,
                commands::components::test_storage,
                commands::components::list_source_tests,
                commands::components::project_parts,
                commands::remote::server_fingerprint,
                commands::remote::set_server,
                commands::remote::start_remote_backup::<$runtime>,
                commands::remote::start_pull::<$runtime>,
                commands::remote::set_artifacts,
                commands::backups::list_backups,
                commands::backups::list_safety_backups,
                commands::jobs::list_jobs,
                commands::jobs::start_backup::<$runtime>,
                commands::jobs::start_verify::<$runtime>,
                commands::jobs::plan_restore,
                commands::jobs::start_restore::<$runtime>,
                commands::jobs::cancel_job,
                commands::backups::inspect_archive,
                commands::backups::inspect_import,
                commands::jobs::start_import::<$runtime>,
                commands::settings::get_desktop_settings,
                commands::settings::set_desktop_settings,
                commands::settings::detect_tools,
                commands::settings::get_autostart::<$runtime>,
                commands::settings::set_autostart::<$runtime>,
                commands::backups::delete_backup,
                commands::backups::pin_backup,
                commands::backups::backup_stats,
                commands::backups::canary_thresholds,
                commands::backups::set_canary_thresholds,
                commands::backups::recovery_targets,
                commands::backups::set_recovery_targets,
                commands::backups::save_recovery_card,
                commands::backups::backup_selection,
                commands::backups::set_backup_selection,
                commands::backups::show_in_folder,
                commands::backups::reveal_file,
                commands::pick_path::<$runtime>,
                commands::schedules::list_schedules,
                commands::schedules::removal_forecast,
                commands::schedules::set_schedule,
                commands::schedules::pause_schedule,
                commands::schedules::clear_schedule,
                commands::schedules::add_named_schedule,
                commands::schedules::change_named_schedule,
                commands::schedules::remove_named_schedule,
                commands::schedules::pause_named_schedule,
                commands::schedules::preview_schedule,
                commands::schedules::get_retention,
                commands::schedules::set_retention,
                commands::schedules::preview_prune,
                commands::schedules::apply_retention,
                commands::schedules::project_status,
                commands::health::health,
                commands::health::open_supabase_dashboard,
                commands::schedules::job_history,
                commands::updates::update_status::<$runtime>,
                commands::updates::check_for_update::<$runtime>,
                commands::updates::install_update::<$runtime>,
                commands::encryption::get_encryption,
                commands::encryption::list_keys,
                commands::encryption::set_encryption,
                commands::encryption::confirm_recovery,
                commands::encryption::save_recovery_file::<$runtime>,
                commands::encryption::get_default_encryption,
                commands::encryption::set_default_encryption,
                commands::destinations::list_destinations,
                commands::destinations::add_destination,
                commands::destinations::remove_destination,
                commands::destinations::test_destination,
                commands::destinations::list_copies,
                commands::destinations::get_protection,
                commands::destinations::set_destination_protection,
                commands::destinations::start_sync::<$runtime>,
                commands::destinations::start_fetch_copy::<$runtime>,
                commands::drills::start_drill::<$runtime>,
                commands::drills::list_drills,
                commands::drills::get_drill,
                commands::drills::verify_drill_signature,
                commands::drills::save_drill_report::<$runtime>,
                commands::drills::get_drill_settings,
                commands::drills::set_drill_settings,
                commands::drills::list_validation_checks,
                commands::drills::add_validation_check,
                commands::drills::remove_validation_check,
                commands::browse::browse_tables,
                commands::browse::browse_rows,
                commands::browse::export_table_csv::<$runtime>,
                commands::browse::browse_objects,
                commands::browse::object_preview,
                commands::browse::save_object::<$runtime>,
                commands::diff::diff_backups,
                commands::diff::cancel_diff,
                commands::recover::plan_recover,
                commands::recover::start_recover::<$runtime>,
                commands::recover::start_recover_undo::<$runtime>,
                commands::pitr::pitr_status,
                commands::pitr::pitr_modes,
                commands::pitr::pitr_enable,
                commands::pitr::pitr_replica_identity_full,
                commands::pitr::pitr_disable,
                commands::pitr::pitr_capture_now,
                commands::pitr::pitr_plan,
                commands::pitr::start_pitr_restore::<$runtime>,
                commands::pitr_at::start_open_at::<$runtime>,
                commands::pitr_at::close_at,
                commands::tenants::list_tenants,
                commands::tenants::show_tenant,
                commands::tenants::add_tenant,
                commands::tenants::remove_tenant,
                commands::tenants::start_tenant_backup::<$runtime>,
                commands::notify::list_channels,
                commands::notify::add_channel,
                commands::notify::check_telegram_api,
                commands::notify::remove_channel,
                commands::notify::test_channel,
                commands::notify::set_notify_route,
                commands::notify::notify_log,
            ])
            .events(tauri_specta::collect_events![
                JobProgress,
                JobFinished,
                JobStarted,
                OpenProject,
                CatalogChanged,
                $crate::updates::UpdateStatus
            ])
            // Byte counts (u64) cross as JavaScript numbers: exact up to 2^53 bytes (8 PiB), far
            // beyond any database this app backs up, and plain numbers are what the UI formats.
            .dangerously_cast_bigints_to_number()
            // One TypeScript type per Rust type (not separate `_Serialize`/`_Deserialize`
            // variants): none of these types serializes differently from how it deserializes.
            .disable_serde_phases()
    };
}

/// The typed IPC surface of the app: every command and event.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    specta_builder!(tauri::Wry)
}

/// The header of the generated bindings.
const BINDINGS_HEADER: &str =
    "// Generated by tauri-specta from src-tauri (`cargo test -p offsite-desktop bindings`\n\
// regenerates it with OFFSITE_UPDATE_BINDINGS=1). Do not edit by hand.\n";

/// Write the TypeScript bindings of every command and event to `path`.
pub fn export_bindings(path: &Path) -> Result<(), String> {
    specta_builder()
        .export(
            specta_typescript::Typescript::default().header(BINDINGS_HEADER),
            path,
        )
        .map_err(|e| e.to_string())
}

/// The bindings as they would be written now.
pub fn bindings_source() -> Result<String, String> {
    let dir = tempfile_dir()?;
    let path = dir.join("bindings.ts");
    export_bindings(&path)?;
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    text
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "offsite-bindings-{}",
        offsite_core::ops::new_job_id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The app on any runtime with its IPC surface (`specta_builder()`) and engine (tests pass a
/// temporary one): commands, events, managed state.
pub fn build_app<R: Runtime>(
    builder: tauri::Builder<R>,
    specta: tauri_specta::Builder<R>,
    engine: Result<Engine, ErrorPayload>,
    context: tauri::Context<R>,
) -> tauri::Result<tauri::App<R>> {
    let app = builder
        .manage(Shell::new(engine))
        .manage(JobRegistry::default())
        .manage(commands::diff::DiffTickets::default())
        .manage(commands::pitr_at::HeldStates::default())
        .invoke_handler(specta.invoke_handler())
        .build(context)?;
    // Before any command can run (`setup` would only run once the event loop starts).
    specta.mount_events(&app);
    changes::watch(app.handle());
    Ok(app)
}

/// Builds and runs the desktop app: one instance, a tray icon (closing the window hides it
/// there), notifications when jobs finish. Returns when the app quits.
pub fn run() {
    #[cfg(debug_assertions)]
    {
        // Keep the UI's bindings current while developing (the test catches it otherwise).
        // Written only when changed, so a running dev server does not reload for nothing.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings.ts");
        if path.parent().is_some_and(Path::is_dir) {
            match bindings_source() {
                Ok(fresh)
                    if std::fs::read_to_string(&path).ok().as_deref() != Some(fresh.as_str()) =>
                {
                    if let Err(e) = std::fs::write(&path, fresh) {
                        eprintln!("could not write {}: {e}", path.display());
                    }
                }
                Ok(_) => {}
                Err(e) => eprintln!("could not export the TypeScript bindings: {e}"),
            }
        }
    }
    let engine = tauri::async_runtime::block_on(Engine::open(
        EngineConfig::new(Arc::from(offsite_core::secrets::store_from_env()))
            .pg_bin(std::env::var_os("OFFSITE_PG_BIN").map(PathBuf::from)),
    ))
    .map_err(|e| ErrorPayload::from(&e));
    let builder = desktop::plugins(tauri::Builder::default()).setup(|app| {
        // Never an error: a missing tray host or notification service only loses that part.
        desktop::setup(app.handle());
        Ok(())
    });
    build_app(
        builder,
        specta_builder(),
        engine,
        tauri::generate_context!(),
    )
    .expect("error while building the Offsite desktop app")
    .run(|_, _| {});
}

#[cfg(test)]
mod tests;
