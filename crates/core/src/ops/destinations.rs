//! A project's destinations: add (checked here: names, folders, bucket URLs; an S3 secret goes to
//! the keychain, never the catalog), list, remove (the copies there are forgotten, their files
//! left in place) and test (writable, free space, offline). [`open`] turns a record into the
//! [`Destination`] that copies go through.

use crate::catalog::{
    DestinationKind, DestinationRecord, DestinationSpec, Project, S3Target, LOCAL_DESTINATION,
};
use crate::destinations::{
    s3_lock, CheckState, Destination, FolderDestination, LockMode, ObjectLock, RcloneConfig,
    RcloneDestination, S3Destination, S3DestinationConfig,
};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, ErrorPayload, Result};
use crate::schedule::RetentionPolicy;
use crate::schedule::Zone;
use crate::secrets::destination_s3_secret_key;
use serde::Serialize;
use std::path::Path;

/// What removing a destination did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemovedDestination {
    pub name: String,
    pub location: String,
    /// How many copies the catalog recorded there: forgotten, their files left where they are.
    pub copies_forgotten: u64,
    /// In words: "2 copies in /media/usb were left in place; Offsite no longer tracks them".
    pub note: String,
}

/// What testing a destination found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DestinationTest {
    pub name: String,
    pub location: String,
    /// Not reachable now (a drive not mounted, a server not answering): copies wait.
    pub offline: bool,
    /// A test object was written and removed.
    pub writable: bool,
    /// Room left, when known.
    pub free_bytes: Option<u64>,
    /// The size of the whole space, when known.
    pub total_bytes: Option<u64>,
    /// What a person should know (why it is offline or not writable).
    pub message: Option<String>,
    /// An S3 destination that locks its copies: that the bucket has Object Lock enabled, and
    /// what the mode means in plain words.
    pub lock: Option<String>,
    /// On the same disk as the project's local backups (a folder, or an rclone remote of type
    /// `local`): writable, but not a separate copy, said in words (`None`: another disk, or
    /// not known).
    pub same_disk: Option<String>,
    pub error: Option<ErrorPayload>,
}

/// What [`DestinationTest::same_disk`] says.
pub const SAME_DISK_WORDS: &str = "On the same disk as your backups: not a separate copy. A \
     disk that fails takes both; choose a folder on another drive, a NAS or a bucket.";

/// Check a destination name: like a project's (letters, digits, `_`, `-`, `.`), not `local`.
pub fn validate_name(name: &str) -> Result<()> {
    crate::catalog::validate_project_name(name).map_err(|_| {
        Error::invalid(format!("invalid destination name {name:?}")).with_hint(
            "use 1-64 letters, digits, '_', '-' or '.', not starting with '.' or '-' (e.g. usb, nas, bucket)",
        )
    })?;
    if name.eq_ignore_ascii_case(LOCAL_DESTINATION) {
        return Err(
            Error::invalid("\"local\" names the project's own backup folder")
                .with_hint("choose another name for the destination"),
        );
    }
    Ok(())
}

/// Parse `s3://BUCKET[/PREFIX]` into bucket and prefix.
pub fn parse_s3_url(url: &str) -> Result<(String, String)> {
    let bad = |why: &str| {
        Error::invalid(format!("{url:?} is not an S3 location: {why}"))
            .with_hint("write s3://BUCKET or s3://BUCKET/PREFIX (e.g. s3://my-backups/offsite)")
    };
    let rest = url
        .trim()
        .strip_prefix("s3://")
        .ok_or_else(|| bad("it must start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    check_bucket(bucket).map_err(|_| bad("bad bucket name"))?;
    let prefix = prefix.trim_end_matches('/');
    if !prefix.is_empty() {
        crate::destinations::check_name(prefix).map_err(|_| bad("bad prefix"))?;
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

fn check_bucket(bucket: &str) -> Result<()> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("bad bucket name {bucket:?}"))
            .with_hint("3-63 lower-case letters, digits, '-' or '.'"))
    }
}

fn check_s3(s3: &S3Target) -> Result<()> {
    let endpoint = url::Url::parse(&s3.endpoint).map_err(|_| {
        Error::invalid("the S3 endpoint is not a URL").with_hint(
            "give the endpoint as https://HOST[:PORT] (e.g. https://s3.eu-central-1.amazonaws.com)",
        )
    })?;
    if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
        return Err(Error::invalid(
            "the S3 endpoint must be an http(s) URL with a host",
        ));
    }
    if !endpoint.username().is_empty() || endpoint.password().is_some() {
        return Err(
            Error::invalid("the S3 endpoint must not carry credentials").with_hint(
                "give the access key id with --s3-key-id and the secret on standard input",
            ),
        );
    }
    check_bucket(&s3.bucket)?;
    if !s3.prefix.is_empty() {
        crate::destinations::check_name(&s3.prefix)?;
    }
    if s3.region.trim().is_empty() || s3.key_id.trim().is_empty() {
        return Err(Error::invalid(
            "an S3 destination needs a region and an access key id",
        ));
    }
    Ok(())
}

/// Object Lock and storage class: the class checked against the documented list, the lock's
/// days given or derived from the retention (`s3_lock::lock_days`); days without a lock refused.
fn protect(s3: &mut S3Target, retention: Option<&RetentionPolicy>) -> Result<()> {
    s3.storage_class = s3
        .storage_class
        .as_deref()
        .map(crate::destinations::s3_lock::parse_storage_class)
        .transpose()?;
    match s3.object_lock {
        Some(_) => s3.lock_days = Some(s3_lock::lock_days(s3.lock_days, retention)?),
        None if s3.lock_days.is_some() => {
            return Err(Error::invalid("--lock-days needs --object-lock")
                .with_hint("add --object-lock governance or --object-lock compliance"))
        }
        None => {}
    }
    Ok(())
}

/// What `destination set` changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectionChange {
    /// `Some(Some(mode))` locks the copies uploaded from now on; `Some(None)` stops locking them.
    pub lock: Option<Option<LockMode>>,
    /// How many days each new copy stays locked (the destination must lock, or be told to).
    pub lock_days: Option<u32>,
    /// `Some(Some(class))` uploads into that class; `Some(None)`: the bucket's default class.
    pub storage_class: Option<Option<String>>,
}

/// `destination set`: change an S3 destination's Object Lock and storage class, what is not
/// given kept, checked as at `add` (days given, kept, or derived from its retention). Copies
/// already there keep their own lock.
pub(crate) async fn set_protection(
    engine: &Engine,
    project: &str,
    name: &str,
    change: ProtectionChange,
) -> Result<DestinationRecord> {
    if change == ProtectionChange::default() {
        return Err(Error::invalid(format!("nothing to change on destination {name}"))
            .with_hint("give --object-lock governance|compliance|off, --lock-days N or --storage-class CLASS|default"));
    }
    let project = engine.catalog.project(project).await?;
    let d = engine.catalog.destination(&project.id, name).await?;
    let mut s3 =
        d.s3.clone()
            .filter(|_| d.kind == DestinationKind::S3)
            .ok_or_else(|| {
                Error::invalid(format!(
            "destination {name} is not an S3 bucket: Object Lock and storage classes are S3's"
        ))
            })?;
    match change.lock {
        Some(Some(mode)) => s3.object_lock = Some(mode),
        Some(None) if change.lock_days.is_some() => {
            return Err(Error::invalid(
                "--lock-days needs a lock, and --object-lock off removes it",
            )
            .with_hint("leave out --lock-days, or lock with --object-lock governance|compliance"))
        }
        Some(None) => {
            s3.object_lock = None;
            s3.lock_days = None;
        }
        None => {}
    }
    if let Some(days) = change.lock_days {
        s3.lock_days = Some(days);
    }
    if let Some(class) = change.storage_class {
        s3.storage_class = class;
    }
    protect(&mut s3, d.retention.as_ref())?;
    engine
        .catalog
        .set_destination_protection(
            &d.id,
            s3.object_lock,
            s3.lock_days,
            s3.storage_class.as_deref(),
        )
        .await?;
    engine.catalog.destination(&project.id, name).await
}

/// The lock a copy uploaded now to `d` gets: its mode, and now (the engine's clock) plus the
/// destination's days. `None` when the destination does not lock.
pub(crate) fn lock_for(engine: &Engine, d: &DestinationRecord) -> Option<ObjectLock> {
    let s3 = d.s3.as_ref()?;
    let mode = s3.object_lock?;
    let days = s3.lock_days.unwrap_or(1);
    // Whole seconds: the date S3 keeps is the date the catalog records.
    let now = engine.clock.now().replace_nanosecond(0).ok()?;
    Some(ObjectLock {
        mode,
        retain_until: now + time::Duration::days(i64::from(days)),
    })
}

fn check_rclone(remote: &str) -> Result<()> {
    let ok = remote
        .split_once(':')
        .is_some_and(|(name, _)| !name.is_empty() && !name.starts_with('-'))
        && !remote.chars().any(|c| c.is_control());
    if ok {
        Ok(())
    } else {
        Err(
            Error::invalid(format!("{remote:?} is not an rclone remote")).with_hint(
                "write REMOTE:PATH with a remote from `rclone listremotes` (e.g. nas:backups)",
            ),
        )
    }
}

/// Check a spec, filling in its kind from the one place it names.
fn check_spec(engine: &Engine, project: &Project, spec: &mut DestinationSpec) -> Result<()> {
    validate_name(&spec.name)?;
    let named = [
        spec.folder.is_some(),
        spec.s3.is_some(),
        spec.rclone.is_some(),
    ];
    if named.iter().filter(|b| **b).count() != 1 {
        return Err(Error::invalid(
            "a destination is exactly one of a folder, an S3 bucket or an rclone remote",
        )
        .with_hint("give one of --folder DIR, --s3 s3://BUCKET/PREFIX or --rclone REMOTE:PATH"));
    }
    let kind = if spec.folder.is_some() {
        DestinationKind::Folder
    } else if spec.s3.is_some() {
        DestinationKind::S3
    } else {
        DestinationKind::Rclone
    };
    if spec.kind.is_some_and(|k| k != kind) {
        return Err(Error::invalid(
            "the destination's kind does not match what it names",
        ));
    }
    spec.kind = Some(kind);
    if let Some(r) = &spec.retention {
        r.validate()?;
    }
    if let Some(folder) = &spec.folder {
        let path = Path::new(folder);
        if !path.is_absolute() || folder.contains('\0') {
            return Err(
                Error::invalid(format!("{folder:?} is not an absolute folder path"))
                    .with_hint("give the full path of the folder (e.g. /media/usb/offsite)"),
            );
        }
        let own = engine.backup_dir_of(project);
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        if canon(path) == canon(&own) {
            return Err(
                Error::invalid("that folder is the project's own backup folder")
                    .with_hint("a copy belongs on another disk or machine"),
            );
        }
    }
    let retention = spec.retention.clone();
    if let Some(s3) = spec.s3.as_mut() {
        check_s3(s3)?;
        protect(s3, retention.as_ref())?;
    }
    if let Some(remote) = &spec.rclone {
        check_rclone(remote)?;
    }
    Ok(())
}

/// Add a destination to a project (see the module's description).
pub(crate) async fn add(
    engine: &Engine,
    project: &str,
    mut spec: DestinationSpec,
    secret: Option<String>,
) -> Result<DestinationRecord> {
    let project = engine.catalog.project(project).await?;
    check_spec(engine, &project, &mut spec)?;
    let key = destination_s3_secret_key(&project.name, &spec.name);
    match (spec.kind, secret.filter(|s| !s.is_empty())) {
        (Some(DestinationKind::S3), Some(secret)) => {
            if engine
                .catalog
                .destination(&project.id, &spec.name)
                .await
                .is_ok()
            {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "the project has a destination named {:?} already",
                        spec.name
                    ),
                ));
            }
            engine.secrets.set(&key, &secret)?;
        }
        (Some(DestinationKind::S3), None) => return Err(Error::invalid(
            "an S3 destination needs its secret access key",
        )
        .with_hint(
            "give it on standard input (--s3-secret-stdin) or in OFFSITE_S3_DESTINATION_SECRET",
        )),
        (_, Some(_)) => {
            return Err(Error::invalid("only an S3 destination takes a secret"));
        }
        _ => {}
    }
    let zone = Zone::local();
    match engine
        .catalog
        .add_destination(&project.id, &spec, zone.name())
        .await
    {
        Ok(r) => Ok(r),
        Err(e) => {
            if spec.kind == Some(DestinationKind::S3) && e.kind() != ErrorKind::AlreadyExists {
                let _ = engine.secrets.delete(&key);
            }
            Err(e)
        }
    }
}

pub(crate) async fn list(engine: &Engine, project: &str) -> Result<Vec<DestinationRecord>> {
    let project = engine.catalog.project(project).await?;
    engine.catalog.destinations(&project.id).await
}

/// Remove a destination: its copies are forgotten (the files stay), its secret deleted.
pub(crate) async fn remove(
    engine: &Engine,
    project: &str,
    name: &str,
) -> Result<RemovedDestination> {
    let project = engine.catalog.project(project).await?;
    let _lock = super::runner::lock_project(engine, &project)?;
    let d = engine.catalog.destination(&project.id, name).await?;
    let (forgotten, pending) = engine.catalog.remove_destination(&project.id, name).await?;
    if d.kind == DestinationKind::S3 {
        let _ = engine
            .secrets
            .delete(&destination_s3_secret_key(&project.name, name));
    }
    // Only copies written there count: a pending one never reached it.
    let mut note = match forgotten {
        0 => format!("no copies were stored in {}", d.location),
        1 => format!(
            "1 copy in {} was left in place; Offsite no longer tracks it",
            d.location
        ),
        n => format!(
            "{n} copies in {} were left in place; Offsite no longer tracks them",
            d.location
        ),
    };
    if pending > 0 {
        note.push_str(&format!(
            " ({} never written there {} dropped)",
            crate::words::count(pending as usize, "pending copy"),
            if pending == 1 { "was" } else { "were" }
        ));
    }
    Ok(RemovedDestination {
        name: d.name,
        location: d.location,
        copies_forgotten: forgotten,
        note,
    })
}

/// The destination's secret-free objects' home: a folder destination whose folder is not there
/// (a drive not mounted) is offline, never created.
pub(crate) fn offline(d: &DestinationRecord) -> Option<Error> {
    let folder = d
        .folder
        .as_deref()
        .filter(|_| d.kind == DestinationKind::Folder)?;
    if Path::new(folder).is_dir() {
        return None;
    }
    Some(
        Error::new(
            ErrorKind::Connection,
            format!("destination {} is offline: {folder} is not there", d.name),
        )
        .with_hint("connect or mount the drive, then run `offsite sync PROJECT`")
        .temporary(true),
    )
}

/// The [`Destination`] a record names; an offline folder is an error (`connection`). A locking
/// S3 destination locks what it uploads until now plus its days ([`lock_for`]).
pub(crate) async fn open(
    engine: &Engine,
    project: &Project,
    d: &DestinationRecord,
) -> Result<Box<dyn Destination>> {
    Ok(open_with(engine, project, d, lock_for(engine, d))
        .await?
        .into())
}

/// [`open`] with the lock its uploads carry given (`copy_out` records the same date).
pub(crate) async fn open_with(
    engine: &Engine,
    project: &Project,
    d: &DestinationRecord,
    lock: Option<ObjectLock>,
) -> Result<Opened> {
    if let Some(e) = offline(d) {
        return Err(e);
    }
    match d.kind {
        DestinationKind::Folder => Ok(Opened::Other(Box::new(FolderDestination::new(
            d.folder.clone().unwrap_or_default(),
        )))),
        DestinationKind::S3 => {
            let s3 =
                d.s3.as_ref()
                    .ok_or_else(|| Error::internal("an S3 destination without its bucket"))?;
            let key = destination_s3_secret_key(&project.name, &d.name);
            let secret = engine.secrets.get(&key)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Auth,
                    format!("the secret access key of destination {} is not stored", d.name),
                )
                .with_hint(format!(
                    "remove the destination and add it again with its secret (`offsite destination add {} {} … --s3-secret-stdin`)",
                    project.name, d.name
                ))
            })?;
            let cfg = S3DestinationConfig {
                endpoint: Some(s3.endpoint.clone()),
                region: s3.region.clone(),
                bucket: s3.bucket.clone(),
                prefix: s3.prefix.clone(),
                access_key_id: s3.key_id.clone(),
                secret_access_key: secret,
                path_style: s3.path_style,
            };
            let dest = S3Destination::new(&cfg)?
                .with_object_lock(lock.filter(|_| s3.object_lock.is_some()))
                .deleting_all_versions(s3.object_lock.is_some())
                .with_storage_class(s3.storage_class.as_deref())?;
            Ok(Opened::S3(Box::new(dest)))
        }
        DestinationKind::Rclone => Ok(Opened::Other(Box::new(RcloneDestination::new(
            &RcloneConfig {
                remote: d.rclone.clone().unwrap_or_default(),
                program: None,
                config_file: None,
            },
        )?))),
    }
}

/// An opened destination; an S3 one kept as itself (`destination test` asks it more).
pub(crate) enum Opened {
    S3(Box<S3Destination>),
    Other(Box<dyn Destination>),
}

impl From<Opened> for Box<dyn Destination> {
    fn from(o: Opened) -> Self {
        match o {
            Opened::S3(d) => d,
            Opened::Other(d) => d,
        }
    }
}

impl Opened {
    pub(crate) fn as_dyn(&self) -> &dyn Destination {
        match self {
            Opened::S3(d) => d.as_ref(),
            Opened::Other(d) => d.as_ref(),
        }
    }
}

/// Test a destination: offline, writable (a small object written and removed), free space.
pub(crate) async fn test(engine: &Engine, project: &str, name: &str) -> Result<DestinationTest> {
    let project = engine.catalog.project(project).await?;
    let d = engine.catalog.destination(&project.id, name).await?;
    let mut out = DestinationTest {
        name: d.name.clone(),
        location: d.location.clone(),
        offline: false,
        writable: false,
        free_bytes: None,
        total_bytes: None,
        message: None,
        lock: None,
        same_disk: None,
        error: None,
    };
    out.same_disk = same_disk(engine, &project, &d)
        .await
        .then(|| SAME_DISK_WORDS.to_string());
    // The probe object is written unlocked (a locked one could not be removed).
    let dest = match open_with(engine, &project, &d, None).await {
        Ok(dest) => dest,
        Err(e) => {
            out.offline = e.kind() == ErrorKind::Connection;
            out.message = Some(e.message().to_string());
            out.error = Some(ErrorPayload::from(&e));
            return Ok(out);
        }
    };
    // A destination that asks for Object Lock on a bucket without it is not usable: said first,
    // and no probe object is written (it would be locked).
    if let (Opened::S3(s3), Some(mode)) = (&dest, d.s3.as_ref().and_then(|s| s.object_lock)) {
        match s3.check_object_lock(mode).await {
            Ok(said) => out.lock = Some(said),
            Err(e) => {
                out.offline = e.kind() == ErrorKind::Connection;
                out.message = Some(e.message().to_string());
                out.error = Some(ErrorPayload::from(&e));
                return Ok(out);
            }
        }
    }
    match dest.as_dyn().check().await {
        Ok(c) => {
            out.offline = c.state == CheckState::Offline;
            out.writable = c.writable;
            out.free_bytes = c.free_bytes;
            out.total_bytes = c.total_bytes;
            out.message = c.message;
        }
        Err(e) => {
            out.offline = e.kind() == ErrorKind::Connection;
            out.error = Some(ErrorPayload::from(&e));
        }
    }
    Ok(out)
}

/// Whether destination `d` is on the disk of the project's local backups (its folder, or the
/// nearest one that exists before the first backup), by device id.
async fn same_disk(engine: &Engine, project: &Project, d: &DestinationRecord) -> bool {
    let local = engine.backup_dir_of(project);
    let Some(local) = local.ancestors().find(|p| p.exists()) else {
        return false;
    };
    let (local, media) = crate::health::media::media(Some(local), std::slice::from_ref(d)).await;
    media
        .get(&d.id)
        .is_some_and(|m| crate::health::media::same_disk(&local, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_urls_and_remotes_are_checked() {
        validate_name("usb").unwrap();
        for bad in ["", "local", "LOCAL", "a/b", "-x", ".x", "a b"] {
            assert_eq!(
                validate_name(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_s3_url("s3://my-bucket").unwrap(),
            ("my-bucket".into(), "".into())
        );
        assert_eq!(
            parse_s3_url("s3://my-bucket/a/b/").unwrap(),
            ("my-bucket".into(), "a/b".into())
        );
        for bad in [
            "my-bucket",
            "s3://",
            "s3://B",
            "s3://ab",
            "s3://b-b/../x",
            "s3://bb.b/a//b",
        ] {
            assert!(parse_s3_url(bad).is_err(), "{bad:?}");
        }
        let mut s3 = S3Target {
            endpoint: "https://s3.example.com".into(),
            region: "eu".into(),
            bucket: "bucket".into(),
            prefix: String::new(),
            key_id: "AKIA".into(),
            path_style: false,
            ..Default::default()
        };
        check_s3(&s3).unwrap();
        s3.endpoint = "https://user:pw@s3.example.com".into();
        let e = check_s3(&s3).unwrap_err();
        assert!(!e.to_string().contains("pw"), "{e}");
        s3.endpoint = "ftp://s3.example.com".into();
        assert!(check_s3(&s3).is_err());
        check_rclone("nas:backups/offsite").unwrap();
        for bad in ["nas", ":x", "-x:y"] {
            assert!(check_rclone(bad).is_err(), "{bad:?}");
        }
    }
}
