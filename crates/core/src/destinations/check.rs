//! "Test destination": [`DestinationCheck`], what [`super::Destination::check`] answers.

use super::{BytesBody, Destination, PutOptions};
use crate::error::{ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// Whether a destination can be reached now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Reached: see `writable`.
    Online,
    /// Not there right now (a removable drive that is not mounted): copies wait, nothing failed.
    Offline,
}

/// The answer of [`super::Destination::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DestinationCheck {
    pub state: CheckState,
    /// A probe object could be written and deleted (false when offline, or refused: a
    /// read-only mount, keys without write access).
    pub writable: bool,
    /// Bytes free for new copies, when the destination knows (a folder: its file system; an
    /// rclone remote whose backend answers `rclone about`); `None` for buckets.
    pub free_bytes: Option<u64>,
    /// The size of the whole space, when known.
    pub total_bytes: Option<u64>,
    /// What a person should know (why it is offline or not writable), never a secret.
    pub message: Option<String>,
}

impl DestinationCheck {
    pub fn offline(message: impl Into<String>) -> Self {
        DestinationCheck {
            state: CheckState::Offline,
            writable: false,
            free_bytes: None,
            total_bytes: None,
            message: Some(message.into()),
        }
    }
}

/// Name of the probe object (at the destination's root; deleted again at once).
pub(crate) fn probe_name() -> String {
    format!(".offsite-probe-{}", uuid::Uuid::new_v4().simple())
}

/// The default check: put a small probe object and delete it. A refusal to write
/// (`permission`, `disk_full`) is an answer (`writable: false`); other failures are errors.
pub(crate) async fn probe<D: Destination + ?Sized>(dest: &D) -> Result<DestinationCheck> {
    let name = probe_name();
    let body = BytesBody(bytes::Bytes::from_static(b"offsite write probe\n"));
    let written = dest.put(&name, &body, PutOptions::default()).await;
    let refused = |message: String| DestinationCheck {
        state: CheckState::Online,
        writable: false,
        free_bytes: None,
        total_bytes: None,
        message: Some(message),
    };
    match written {
        Ok(_) => {}
        Err(e) if matches!(e.kind(), ErrorKind::Permission | ErrorKind::DiskFull) => {
            return Ok(refused(e.message().to_string()))
        }
        Err(e) => return Err(e),
    }
    match dest.delete(&name).await {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::Permission => {
            return Ok(refused(format!(
                "a probe object could be written but not deleted ({}): {name} is left behind",
                e.message()
            )))
        }
        Err(e) => return Err(e),
    }
    Ok(DestinationCheck {
        state: CheckState::Online,
        writable: true,
        free_bytes: None,
        total_bytes: None,
        message: None,
    })
}
