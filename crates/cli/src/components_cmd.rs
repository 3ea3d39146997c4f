//! `offsite project storage|supabase|default-type|test-storage`, and the storage/Supabase flags
//! of `offsite project add` (the Supabase quick add among them).

use crate::output::Out;
use clap::Args;
use offsite_core::catalog::Components;
use offsite_core::ops::supabase_project;
use offsite_core::ops::{NewComponents, StorageSettings, StorageTestReport, SupabaseSettings};
use offsite_core::storage::BucketSelection;
use offsite_core::{Engine, Error, Result};
use serde_json::json;
use std::io::BufRead;

/// A project's storage (S3-compatible) and Supabase settings, as flags.
#[derive(Args, Debug, Default, Clone)]
pub struct ComponentArgs {
    /// A Supabase project URL (https://REF.supabase.co) or ref: fills in the database (the
    /// direct host db.REF.supabase.co, user postgres, TLS required — or, when it does not answer
    /// from here and a token is given, the session pooler), the storage endpoint
    /// (https://REF.storage.supabase.co/storage/v1/s3) and the project ref.
    #[arg(long, value_name = "URL|REF")]
    pub supabase: Option<String>,
    /// With --supabase: Supabase's certificate authority (the dashboard's Database settings →
    /// SSL configuration → Download certificate, prod-ca-2021.crt). The database is then
    /// reached with sslmode=verify-full against it. Supabase's certificates are signed by this
    /// CA, which no system trusts: without it, --supabase needs --tls require (encrypted, the
    /// server not checked).
    #[arg(long, value_name = "FILE", requires = "supabase")]
    pub supabase_ca: Option<std::path::PathBuf>,
    /// S3-compatible endpoint of the project's storage (Supabase: Project Settings → Storage → S3
    /// connection). Without it but with --s3-key-id: AWS.
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// The storage's region (default us-east-1).
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// The S3 access key id; its secret comes from --s3-secret-stdin or
    /// $OFFSITE_S3_SECRET_ACCESS_KEY and is kept in the keychain.
    #[arg(long, value_name = "ID")]
    pub s3_key_id: Option<String>,
    /// Read the S3 secret access key from standard input (the next line; after the password
    /// when --password-stdin is given too).
    #[arg(long)]
    pub s3_secret_stdin: bool,
    /// Virtual-hosted addressing (https://BUCKET.endpoint/KEY) instead of path style.
    #[arg(long)]
    pub s3_virtual_hosted: bool,
    /// Which buckets to back up: all (default) or a comma-separated list.
    #[arg(long, value_name = "all|B1,B2")]
    pub buckets: Option<String>,
    /// Downloads in flight during a storage pull (default 16).
    #[arg(long, value_name = "N")]
    pub s3_concurrency: Option<u32>,
    /// The Supabase project ref, for configuration backups through the Management API; the
    /// token comes from --supabase-token-stdin or $SUPABASE_ACCESS_TOKEN (kept in the keychain).
    #[arg(long, value_name = "REF")]
    pub supabase_ref: Option<String>,
    /// Read the Supabase personal access token from standard input (the next line, after the
    /// password and the S3 secret).
    #[arg(long)]
    pub supabase_token_stdin: bool,
    /// The Management API's address (default https://api.supabase.com).
    #[arg(
        long,
        value_name = "URL",
        hide = true,
        env = "OFFSITE_SUPABASE_API_URL"
    )]
    pub supabase_api: Option<String>,
    /// What `offsite backup` (and every schedule) makes by default: database (default), full,
    /// storage, config or incremental.
    #[arg(long, value_name = "TYPE")]
    pub default_type: Option<String>,
    /// An artifact bucket: dumps made elsewhere (`.sql.gz`, pg_dump files, Offsite archives)
    /// that `offsite pull` downloads and imports. With it, the --s3-* flags (endpoint, region,
    /// key id, secret) are this bucket's, not the storage component's.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub artifacts: Option<String>,
    /// With --artifacts: only objects whose name matches this glob (`*`, `?`), e.g. '*.sql.gz'.
    #[arg(long, value_name = "GLOB", requires = "artifacts")]
    pub pattern: Option<String>,
}

/// A Supabase project as pasted (parsed by the engine: [`supabase_project::parse`]).
pub use offsite_core::ops::supabase_project::SupabaseProject as SupabaseQuick;

/// `https://REF.supabase.co[/…]`, `REF.supabase.co`, `db.REF.supabase.co`, a bare ref, or a
/// connection string (direct or the session pooler's).
pub fn parse_supabase(input: &str) -> Result<SupabaseQuick> {
    supabase_project::parse(input)
}

/// Reads the `-stdin` secrets in their fixed order (password, S3 secret, token), one line each.
pub struct StdinSecrets {
    lines: Vec<String>,
}

impl StdinSecrets {
    pub fn read(count: usize) -> Result<StdinSecrets> {
        let mut lines = Vec::new();
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        for _ in 0..count {
            let mut line = String::new();
            lock.read_line(&mut line)
                .map_err(|e| Error::io("reading secrets from standard input", e))?;
            let v = line.trim_end_matches(['\n', '\r']).to_string();
            if v.is_empty() {
                return Err(Error::invalid(format!(
                    "expected {} on standard input (password, S3 secret, token — in that order, only those asked for)",
                    crate::words::count(count, "line")
                ))
                .with_hint("printf '%s\\n' \"$PW\" \"$S3_SECRET\" | offsite project add …"));
            }
            lines.push(v);
        }
        lines.reverse();
        Ok(StdinSecrets { lines })
    }
    pub fn next(&mut self) -> Option<String> {
        self.lines.pop()
    }
    /// The line `n` before the last (0: the last), without taking it.
    pub fn nth_from_end(&self, n: usize) -> Option<&str> {
        self.lines.get(n).map(String::as_str)
    }
}

impl ComponentArgs {
    pub fn wants_storage(&self) -> bool {
        self.s3_endpoint.is_some() || self.s3_key_id.is_some() || self.s3_secret_stdin
    }
    pub fn wants_supabase(&self) -> bool {
        self.supabase_ref.is_some() || self.supabase_token_stdin
    }
    /// How many lines of standard input these flags read.
    pub fn stdin_lines(&self) -> usize {
        usize::from(self.s3_secret_stdin) + usize::from(self.supabase_token_stdin)
    }

    /// Apply the flags to an existing project (artifact bucket or storage, Supabase, default
    /// type), in that order.
    pub async fn apply(
        &self,
        engine: &Engine,
        project: &str,
        stdin: &mut StdinSecrets,
        quick: Option<&SupabaseQuick>,
    ) -> Result<()> {
        let parts = self.parts(stdin, quick)?;
        if let Some(a) = parts.artifacts {
            engine.set_artifacts(project, Some(a)).await?;
        }
        if let Some(s) = parts.storage {
            engine.set_storage(project, Some(s)).await?;
        }
        if let Some(s) = parts.supabase {
            engine.set_supabase(project, Some(s)).await?;
        }
        if let Some(t) = &parts.default_type {
            engine.set_default_backup_type(project, t).await?;
        }
        Ok(())
    }

    /// The parts the flags ask for (the secrets from `stdin` or the environment); nothing is
    /// saved.
    pub fn parts(
        &self,
        stdin: &mut StdinSecrets,
        quick: Option<&SupabaseQuick>,
    ) -> Result<NewComponents> {
        let mut parts = NewComponents {
            default_type: self.default_type.clone(),
            ..Default::default()
        };
        let s3_secret = if self.s3_secret_stdin {
            stdin.next()
        } else {
            None
        };
        let token = if self.supabase_token_stdin {
            stdin.next()
        } else {
            None
        };
        if let Some(location) = &self.artifacts {
            let key_id = self
                .s3_key_id
                .clone()
                .ok_or_else(|| Error::invalid("--artifacts needs --s3-key-id (and the secret)"))?;
            parts.artifacts = Some(offsite_core::ops::ArtifactsSettings {
                location: location.clone(),
                endpoint: self.s3_endpoint.clone(),
                region: self.s3_region.clone().unwrap_or_else(|| "us-east-1".into()),
                access_key_id: key_id,
                secret_access_key: s3_secret.clone(),
                path_style: !self.s3_virtual_hosted,
                pattern: self.pattern.clone(),
            });
        } else if self.wants_storage() {
            let key_id = self.s3_key_id.clone().ok_or_else(|| {
                Error::invalid("--s3-key-id is needed with the other --s3-* flags")
                    .with_hint("Supabase: Project Settings → Storage → S3 access keys")
            })?;
            let endpoint = self
                .s3_endpoint
                .clone()
                .or_else(|| quick.map(|q| q.storage_endpoint.clone()));
            let buckets = match &self.buckets {
                Some(b) => BucketSelection::parse(b)?,
                None => BucketSelection::All,
            };
            parts.storage = Some(StorageSettings {
                endpoint,
                region: self.s3_region.clone().unwrap_or_else(|| "us-east-1".into()),
                access_key_id: key_id,
                secret_access_key: s3_secret
                    .or_else(|| std::env::var(offsite_core::ops::components::S3_SECRET_ENV).ok()),
                path_style: !self.s3_virtual_hosted,
                buckets,
                concurrency: self.s3_concurrency,
            });
        }
        let supabase_ref = self
            .supabase_ref
            .clone()
            .or_else(|| quick.map(|q| q.project_ref.clone()));
        let env_token = || std::env::var(offsite_core::ops::components::SUPABASE_TOKEN_ENV).ok();
        if self.wants_supabase() || (quick.is_some() && (token.is_some() || env_token().is_some()))
        {
            let project_ref = supabase_ref.ok_or_else(|| {
                Error::invalid("--supabase-ref is needed with --supabase-token-stdin")
            })?;
            parts.supabase = Some(SupabaseSettings {
                project_ref,
                api_url: self.supabase_api.clone(),
                access_token: token.or_else(env_token),
            });
        }
        Ok(parts)
    }
}

pub fn print_components(out: &Out, project: &str, c: &Components) {
    if out.json() {
        out.emit(&json!({ "project": project, "components": c }));
        return;
    }
    println!("project {project}");
    println!(
        "  default backup type: {}",
        c.default_type.as_deref().unwrap_or("database")
    );
    match &c.storage {
        Some(s) => {
            println!(
                "  storage: {} (region {}, key id {}, {} addressing)",
                s.endpoint.as_deref().unwrap_or("AWS"),
                s.region,
                s.access_key_id,
                if s.path_style {
                    "path-style"
                } else {
                    "virtual-hosted"
                }
            );
            println!("  buckets: {}", s.buckets);
        }
        None => println!("  storage: none"),
    }
    match &c.supabase {
        Some(s) => println!("  supabase: project ref {}", s.project_ref),
        None => println!("  supabase: none (no configuration backups)"),
    }
    if let Some(a) = &c.artifacts {
        println!(
            "  artifact bucket: s3://{}/{} at {} (pattern {}, {} imported)",
            a.bucket,
            a.prefix,
            a.endpoint.as_deref().unwrap_or("AWS"),
            a.pattern.as_deref().unwrap_or("*"),
            a.imported.len()
        );
    }
    if let Some(s) = &c.server {
        println!(
            "  backup server: {} project {} ({})",
            s.url,
            s.project,
            s.fingerprint.as_deref().unwrap_or("no TLS")
        );
    }
}

pub fn print_storage_test(out: &Out, r: &StorageTestReport) {
    if out.json() {
        out.emit(&json!(r));
        return;
    }
    println!("storage at {}", r.endpoint);
    if r.buckets.is_empty() {
        println!("  no buckets visible to these keys");
    }
    for b in &r.buckets {
        let count = if b.complete {
            format!("{} objects", b.objects)
        } else {
            format!("≥ {} objects", b.objects)
        };
        let read = match b.readable {
            Some(true) => "readable",
            Some(false) => "NOT READABLE",
            None => "empty",
        };
        println!(
            "  {:<30} {:>16}  {:>12}  {}{}",
            b.name,
            count,
            offsite_core::units::format_bytes(b.bytes),
            read,
            b.error
                .as_deref()
                .map(|e| format!(" — {e}"))
                .unwrap_or_default()
        );
    }
    for m in &r.missing {
        println!("  {m:<30} MISSING: the keys cannot see this bucket");
    }
}
