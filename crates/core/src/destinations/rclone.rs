//! An rclone remote as a [`Destination`]: `remote:path` from the user's own rclone
//! configuration (SFTP, Google Drive, Dropbox, OneDrive, SMB… 70+ backends), driving the
//! installed `rclone` binary. Arguments are passed as argv, never through a shell; the remote's
//! name is checked by [`parse_remote`] (a plain configured name: no `:backend:` or
//! `name,option=…:` connection strings, which could carry credentials into the catalog).
//! rclone finds its configuration as it always does (`RCLONE_CONFIG`, then its default file)
//! unless a file is given.
//!
//! `put` uploads to `.offsite-tmp-<uuid>-<name>` beside the target (`rclone copyto`, which
//! checks the copy's hash against the source where the backend has one in common), then renames
//! it (`rclone moveto`). The rename is atomic where the backend renames (local, SFTP, SMB, most
//! drives); on object stores it is a server-side copy, which also appears whole; a backend that
//! can do neither makes rclone copy it again, so the final name is written by a normal upload.
//! A body that is not a local file is spooled to a temporary file first (rclone uploads best
//! when it knows the size). Without `overwrite`, the target is looked up before the upload and
//! again just before the rename: another writer of the same name between that look-up and the
//! rename would be replaced (rclone has no "rename unless it exists"). On any failure, and
//! when the put's future is dropped (rclone is killed), the temporary is deleted.
//!
//! `stat` and `list` come from `rclone lsjson` (bounded, parsed strictly); `sha256` asks the
//! backend (`rclone hashsum sha256`) and, where it has no SHA-256, downloads and hashes
//! (`--download`); `check` probes and asks `rclone about` for free space.

use super::rclone_run::{self, About, Rclone, STDOUT_LIMIT};
use super::TEMP_PREFIX;
use super::{check_name, Destination, DestinationCheck, PutBody, PutOptions, Sha256, StoredObject};
use crate::error::{Error, ErrorKind, Result};
use async_trait::async_trait;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Where the copies go and which rclone to run.
#[derive(Debug, Clone)]
pub struct RcloneConfig {
    /// `remote:path` (a remote configured in rclone, then a folder in it).
    pub remote: String,
    /// The rclone program; `None`: `rclone` on `PATH`.
    pub program: Option<PathBuf>,
    /// rclone's configuration file; `None`: rclone's own choice (`RCLONE_CONFIG`, then
    /// `~/.config/rclone/rclone.conf`).
    pub config_file: Option<PathBuf>,
}

/// A parsed `remote:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpec {
    pub name: String,
    /// The folder inside the remote, without a trailing `/` (may be empty, or absolute for a
    /// `local`/`sftp` remote).
    pub path: String,
}

/// Parse `remote:path`. The name follows rclone's rules for configured remotes (letters,
/// digits, `_ - . + @` and inner spaces; not starting with `-` or a space); the path has no
/// control characters, and no `.`/`..` segment.
pub fn parse_remote(s: &str) -> Result<RemoteSpec> {
    let bad = |why: &str| {
        Error::invalid(format!("bad rclone remote {s:?}: {why}"))
            .with_hint("write it as NAME:PATH, with NAME a remote from `rclone listremotes`")
    };
    let Some((name, path)) = s.split_once(':') else {
        return Err(bad("no ':' after the remote's name"));
    };
    if name.is_empty() {
        return Err(bad(
            "on-the-fly remotes (':backend:') are not supported; configure a named remote",
        ));
    }
    if name.len() > 128 {
        return Err(bad("the name is too long"));
    }
    let ok_char = |c: char| c.is_alphanumeric() || "_-.+@ ".contains(c);
    if !name.chars().all(ok_char) {
        return Err(bad("the name may hold letters, digits, '_', '-', '.', '+', '@' and spaces only (no connection strings)"));
    }
    if name.starts_with('-') || name.starts_with(' ') || name.ends_with(' ') {
        return Err(bad(
            "the name may not start with '-' or a space, or end with a space",
        ));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("control characters in the path"));
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() && path.starts_with('/') {
        "/"
    } else {
        trimmed
    };
    if trimmed.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(bad("'.' and '..' are not allowed in the path"));
    }
    Ok(RemoteSpec {
        name: name.to_string(),
        path: trimmed.to_string(),
    })
}

/// An rclone remote (see the module's rules).
#[derive(Debug, Clone)]
pub struct RcloneDestination {
    pub(super) rclone: Rclone,
    spec: RemoteSpec,
}

impl RcloneDestination {
    pub fn new(cfg: &RcloneConfig) -> Result<Self> {
        let spec = parse_remote(&cfg.remote)?;
        Ok(RcloneDestination {
            rclone: Rclone {
                program: cfg
                    .program
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("rclone")),
                config_file: cfg.config_file.clone(),
            },
            spec,
        })
    }

    pub fn remote(&self) -> &RemoteSpec {
        &self.spec
    }

    /// `remote:path/rel` (rel may be empty: the folder itself).
    fn target(&self, rel: &str) -> String {
        let base = &self.spec.path;
        let joined = match (base.as_str(), rel) {
            (b, "") => b.to_string(),
            ("", r) => r.to_string(),
            ("/", r) => format!("/{r}"),
            (b, r) => format!("{b}/{r}"),
        };
        format!("{}:{joined}", self.spec.name)
    }

    /// The temporary name beside `name`.
    fn temp_name(name: &str) -> String {
        let (dir, base) = match name.rsplit_once('/') {
            Some((d, b)) => (format!("{d}/"), b),
            None => (String::new(), name),
        };
        format!("{dir}{TEMP_PREFIX}{}-{base}", uuid::Uuid::new_v4().simple())
    }

    async fn stat_target(&self, what: &str, target: &str) -> Result<Option<StoredObject>> {
        match self
            .rclone
            .run(
                what,
                &["lsjson", "--stat", "--no-mimetype", target],
                1 << 20,
            )
            .await
        {
            Ok(ran) => {
                let e = rclone_run::parse_stat(what, &ran.stdout)?;
                if e.is_dir {
                    return Ok(None);
                }
                Ok(Some(StoredObject {
                    name: String::new(),
                    size: e.size.max(0) as u64,
                    sha256: None,
                    modified: e.modified(),
                }))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete_target(&self, what: &str, target: &str) -> Result<()> {
        self.rclone
            .run(what, &["deletefile", target], 1 << 20)
            .await
            .map(|_| ())
    }

    /// The SHA-256 from the backend, or by downloading when it has none.
    async fn hashsum(&self, name: &str, download: bool) -> Result<String> {
        let what = format!("hashing {name} in {}", self.location());
        let target = self.target(name);
        let mut args = vec!["hashsum", "sha256"];
        if download {
            args.push("--download");
        }
        args.push(&target);
        match self.rclone.run(&what, &args, 1 << 20).await {
            Ok(ran) => rclone_run::parse_hashsum(&what, &ran.stdout),
            Err(e) if !download && e.message().to_ascii_lowercase().contains("not supported") => {
                Box::pin(self.hashsum(name, true)).await
            }
            Err(e) => Err(e),
        }
    }
}

/// Deletes a remote temporary unless disarmed. On a drop (a cancelled put) it runs
/// `rclone deletefile` on a thread and waits for it up to 10 s, so nothing is left behind by
/// the time the caller goes on.
struct RemoteTemp {
    rclone: Rclone,
    target: Option<String>,
}

impl RemoteTemp {
    async fn remove(&mut self) {
        if let Some(t) = self.target.take() {
            if let Err(e) = self
                .rclone
                .run("removing a temporary", &["deletefile", &t], 1 << 20)
                .await
            {
                if e.kind() != ErrorKind::NotFound {
                    tracing::warn!(target: "offsite::destinations", "{e}");
                }
            }
        }
    }
}

impl Drop for RemoteTemp {
    fn drop(&mut self) {
        let Some(target) = self.target.take() else {
            return;
        };
        let rclone = self.rclone.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut cmd = std::process::Command::new(&rclone.program);
            if let Some(c) = &rclone.config_file {
                cmd.arg("--config").arg(c);
            }
            let _ = cmd
                .args([
                    "--ask-password=false",
                    "--retries",
                    "1",
                    "-q",
                    "deletefile",
                    &target,
                ])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(std::time::Duration::from_secs(10));
    }
}

/// The body as a local file rclone can read: the body's own file, or a spooled copy (removed
/// when dropped). Returns the file, its size and SHA-256.
async fn local_source(
    body: &dyn PutBody,
) -> Result<(PathBuf, Option<tempfile::TempPath>, u64, String)> {
    if let Some(p) = body.local_path() {
        let size = tokio::fs::metadata(p)
            .await
            .map_err(|e| Error::io(format!("reading {}", p.display()), e))?
            .len();
        let sha = match body.sha256() {
            Some(s) => s,
            None => hash_file(p).await?,
        };
        return Ok((p.to_path_buf(), None, size, sha));
    }
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile()
        .map_err(|e| Error::io("making a temporary file to upload from", e))?
        .into_temp_path();
    let path = tmp.to_path_buf();
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    let mut stream = body.open().await?;
    let (mut sha, mut size) = (Sha256::new(), 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        sha.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    file.flush()
        .await
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    let sha = sha.hex();
    if let Some(k) = body.sha256() {
        if k != sha {
            return Err(Error::integrity(
                "the bytes read do not have the SHA-256 the archive was recorded with",
            ));
        }
    }
    Ok((path, Some(tmp), size, sha))
}

async fn hash_file(p: &Path) -> Result<String> {
    let p = p.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let what = format!("reading {}", p.display());
        let mut f = std::fs::File::open(&p).map_err(|e| Error::io(&what, e))?;
        let mut sha = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(&what, e))?;
            if n == 0 {
                return Ok(sha.hex());
            }
            sha.update(&buf[..n]);
        }
    })
    .await
    .map_err(|e| Error::internal(format!("hashing task failed: {e}")))?
}

#[async_trait]
impl Destination for RcloneDestination {
    fn location(&self) -> String {
        format!("rclone {}", self.target(""))
    }

    async fn put(&self, name: &str, body: &dyn PutBody, opts: PutOptions) -> Result<StoredObject> {
        check_name(name)?;
        let what = format!("copying {name} to {}", self.location());
        let exists = || {
            Error::new(
                ErrorKind::AlreadyExists,
                format!("{name} already exists in {}", self.location()),
            )
            .with_hint("choose another name, or allow replacing it")
        };
        let target = self.target(name);
        if !opts.overwrite && self.stat_target(&what, &target).await?.is_some() {
            return Err(exists());
        }
        let (src, _spooled, size, sha) = local_source(body).await?;
        let tmp = self.target(&Self::temp_name(name));
        let mut guard = RemoteTemp {
            rclone: self.rclone.clone(),
            target: Some(tmp.clone()),
        };
        // Absolute, so rclone never reads `a:b.tar.gz` as a remote named `a`.
        let src = std::path::absolute(&src)
            .map_err(|e| Error::io(format!("reading {}", src.display()), e))?;
        let src_arg = src.to_string_lossy().into_owned();
        let copied = self
            .rclone
            .run(&what, &["copyto", "--", &src_arg, &tmp], 1 << 20)
            .await;
        if let Err(e) = copied {
            guard.remove().await;
            return Err(e);
        }
        if !opts.overwrite && self.stat_target(&what, &target).await?.is_some() {
            guard.remove().await;
            return Err(exists());
        }
        if let Err(e) = self
            .rclone
            .run(&what, &["moveto", &tmp, &target], 1 << 20)
            .await
        {
            guard.remove().await;
            return Err(e);
        }
        guard.target = None;
        let stored = self.stat_target(&what, &target).await?;
        match stored {
            Some(s) if s.size == size => Ok(StoredObject {
                name: name.to_string(),
                sha256: Some(sha),
                ..s
            }),
            other => Err(Error::integrity(format!(
                "{what}: after the copy the remote shows {:?} bytes, not {size}",
                other.map(|s| s.size)
            ))),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>> {
        let what = format!("listing {}", self.location());
        // List the deepest folder the prefix names, then filter.
        let dir = prefix.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let target = self.target(dir);
        let ran = match self
            .rclone
            .run(
                &what,
                &["lsjson", "-R", "--files-only", "--no-mimetype", &target],
                STDOUT_LIMIT,
            )
            .await
        {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for e in rclone_run::parse_list(&what, &ran.stdout)? {
            if e.is_dir {
                continue;
            }
            let name = if dir.is_empty() {
                e.path.clone()
            } else {
                format!("{dir}/{}", e.path)
            };
            if !name.starts_with(prefix)
                || check_name(&name).is_err()
                || name.split('/').any(|s| s.starts_with(TEMP_PREFIX))
            {
                continue;
            }
            out.push(StoredObject {
                size: e.size.max(0) as u64,
                sha256: None,
                modified: e.modified(),
                name,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn stat(&self, name: &str) -> Result<Option<StoredObject>> {
        check_name(name)?;
        let what = format!("reading {name} in {}", self.location());
        Ok(self
            .stat_target(&what, &self.target(name))
            .await?
            .map(|s| StoredObject {
                name: name.to_string(),
                ..s
            }))
    }

    async fn sha256(&self, name: &str) -> Result<String> {
        if self.stat(name).await?.is_none() {
            return Err(Error::not_found(format!(
                "{name} is not in {}",
                self.location()
            )));
        }
        self.hashsum(name, false).await
    }

    async fn read(&self, name: &str) -> Result<crate::sources::ByteStream> {
        if self.stat(name).await?.is_none() {
            return Err(Error::not_found(format!(
                "{name} is not in {}",
                self.location()
            )));
        }
        // rclone writes the object into a private temporary file, streamed from there (and
        // removed when the stream is dropped).
        let tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile()
            .map_err(|e| Error::io("making a temporary file to read into", e))?
            .into_temp_path();
        let local = tmp.to_string_lossy().into_owned();
        let what = format!("reading {name} from {}", self.location());
        self.rclone
            .run(&what, &["copyto", &self.target(name), &local], STDOUT_LIMIT)
            .await?;
        let inner = super::PutBody::open(&super::FileBody {
            path: tmp.to_path_buf(),
        })
        .await?;
        // The stream owns the temporary file: removed when the stream is dropped.
        Ok(Box::pin(inner.map(move |item| {
            let _keep = &tmp;
            item
        })))
    }

    async fn deep_sha256(&self, name: &str) -> Result<String> {
        if self.stat(name).await?.is_none() {
            return Err(Error::not_found(format!(
                "{name} is not in {}",
                self.location()
            )));
        }
        self.hashsum(name, true).await
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        if self.stat(name).await?.is_none() {
            return Ok(false);
        }
        let what = format!("deleting {name} in {}", self.location());
        self.delete_target(&what, &self.target(name)).await?;
        Ok(true)
    }

    async fn check(&self) -> Result<DestinationCheck> {
        let mut c = super::check::probe(self).await?;
        let what = format!("asking {} for free space", self.location());
        // Not every backend can say (`about` fails): then it stays unknown.
        if let Ok(ran) = self
            .rclone
            .run(&what, &["about", "--json", &self.target("")], 1 << 20)
            .await
        {
            if let Ok(a) = serde_json::from_slice::<About>(&ran.stdout) {
                c.free_bytes = a.free;
                c.total_bytes = a.total;
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_are_parsed_strictly() {
        let ok = |s: &str| parse_remote(s).unwrap();
        assert_eq!(
            ok("nas:backups/offsite/"),
            RemoteSpec {
                name: "nas".into(),
                path: "backups/offsite".into()
            }
        );
        assert_eq!(ok("my drive:").path, "");
        assert_eq!(ok("loc:/tmp/x").path, "/tmp/x");
        assert_eq!(ok("loc:/").path, "/");
        assert_eq!(ok("gdrive-2.work@x:a b/c").name, "gdrive-2.work@x");
        for bad in [
            "nocolon",
            ":local:/tmp",
            ":s3,access_key_id=AKIA:bucket",
            "s3,env_auth=true:bucket",
            "-x:foo",
            "--config=/etc/passwd:x",
            " lead:x",
            "a/b:c",
            "n:a/../b",
            "n:a\nb",
        ] {
            let e = parse_remote(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn targets_join_the_folder_and_the_name() {
        let d = |r: &str| {
            RcloneDestination::new(&RcloneConfig {
                remote: r.into(),
                program: None,
                config_file: None,
            })
            .unwrap()
        };
        assert_eq!(d("n:a/b").target("x/y"), "n:a/b/x/y");
        assert_eq!(d("n:").target("x"), "n:x");
        assert_eq!(d("n:/").target("x"), "n:/x");
        assert_eq!(d("n:a").target(""), "n:a");
        assert!(RcloneDestination::temp_name("p/q.tar.gz").starts_with("p/.offsite-tmp-"));
        assert!(RcloneDestination::temp_name("p/q.tar.gz").ends_with("-q.tar.gz"));
    }
}
