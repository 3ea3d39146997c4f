//! The engine's drill calls: run a drill, its reports (signed, printable) and a project's drill
//! settings. Each hands over to `ops::drill*`; kept apart from `mod.rs` so the facade stays
//! readable.

use super::*;

impl Engine {
    /// Run a restore drill as one job: restore a backup into a throwaway cluster (or a scratch
    /// server), prove it, write and record the report. The report's verdict says whether it
    /// passed; `Err` only when it could not be run.
    pub async fn drill(
        &self,
        opts: ops::drill::DrillOptions,
        start: JobStart,
    ) -> Result<ops::drill::DrillOutcome> {
        ops::drill::run(self, opts, start).await
    }
    /// This machine's drill report signing key (Ed25519, made on first use), as PEM.
    pub fn drill_public_key(&self) -> Result<String> {
        Ok(ops::drill_report::public_key(self)?.to_pem())
    }
    /// Check a signed drill report with `public_key` (a PEM file or its text; default: this
    /// machine's key): the report when the signature verifies, `integrity` otherwise.
    pub fn verify_drill_report(
        &self,
        file: &std::path::Path,
        public_key: Option<&str>,
    ) -> Result<crate::drill::sign::Verified> {
        ops::drill_report::verify_file(self, file, public_key)
    }
    /// A recorded drill's report as a printable HTML page.
    pub async fn drill_report_html(&self, id: &str) -> Result<String> {
        ops::drill_report::html_of(self, id).await
    }
    /// Save a recorded drill's printable page to `path` (private file, written whole or not at
    /// all).
    pub async fn save_drill_report_html(&self, id: &str, path: &std::path::Path) -> Result<()> {
        let html = ops::drill_report::html_of(self, id).await?;
        crate::private_fs::write_atomic(path, html.as_bytes())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }
    /// A project's drill settings: where its drills restore and how many storage objects they
    /// check (`drill::settings`).
    pub async fn drill_settings(
        &self,
        project: &str,
    ) -> Result<crate::drill::settings::DrillSettings> {
        ops::drill_settings::get(self, project).await
    }
    /// Change a project's drill settings (the scratch server's password goes to the secret
    /// store); returns them as saved.
    pub async fn set_drill_settings(
        &self,
        project: &str,
        change: crate::drill::settings::DrillSettingsChange,
    ) -> Result<crate::drill::settings::DrillSettings> {
        ops::drill_settings::set(self, project, change).await
    }
    /// A project's drills, newest first.
    pub async fn drills(&self, project: &str) -> Result<Vec<crate::catalog::DrillRecord>> {
        ops::drill::list(self, project).await
    }
    /// One drill (with its report) by id.
    pub async fn drill_record(&self, id: &str) -> Result<crate::catalog::DrillRecord> {
        ops::drill::record(self, id).await
    }
}
