//! A [`Destination`] in memory, for tests: the contract of a bucket (whole objects appear at once,
//! a failed upload leaves nothing) without a server.

use super::{check_name, Destination, PutBody, PutOptions, Sha256, StoredObject};
use crate::error::{Error, ErrorKind, Result};
use async_trait::async_trait;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct MemoryDestination {
    objects: Mutex<BTreeMap<String, (Vec<u8>, String)>>,
}

impl MemoryDestination {
    pub fn new() -> Self {
        Self::default()
    }
    /// A stored object's bytes (tests).
    pub fn bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.lock().get(name).map(|(b, _)| b.clone())
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (Vec<u8>, String)>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn stored(name: &str, bytes: &[u8], sha: &str) -> StoredObject {
    StoredObject {
        name: name.to_string(),
        size: bytes.len() as u64,
        sha256: Some(sha.to_string()),
        modified: None,
    }
}

fn exists(name: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!("{name} already exists in memory"),
    )
}

#[async_trait]
impl Destination for MemoryDestination {
    fn location(&self) -> String {
        "memory".into()
    }

    async fn put(&self, name: &str, body: &dyn PutBody, opts: PutOptions) -> Result<StoredObject> {
        check_name(name)?;
        if !opts.overwrite && self.lock().contains_key(name) {
            return Err(exists(name));
        }
        // Buffer the whole body, then publish it in one step: nothing is visible before.
        let mut stream = body.open().await?;
        let (mut buf, mut sha) = (Vec::new(), Sha256::new());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            sha.update(&chunk);
            buf.extend_from_slice(&chunk);
        }
        let sha = sha.hex();
        let mut objects = self.lock();
        if !opts.overwrite && objects.contains_key(name) {
            return Err(exists(name));
        }
        let out = stored(name, &buf, &sha);
        objects.insert(name.to_string(), (buf, sha));
        Ok(out)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>> {
        Ok(self
            .lock()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, (b, s))| stored(k, b, s))
            .collect())
    }

    async fn stat(&self, name: &str) -> Result<Option<StoredObject>> {
        check_name(name)?;
        Ok(self.lock().get(name).map(|(b, s)| stored(name, b, s)))
    }

    async fn sha256(&self, name: &str) -> Result<String> {
        check_name(name)?;
        self.lock()
            .get(name)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| Error::not_found(format!("{name} is not in memory")))
    }

    async fn read(&self, name: &str) -> Result<crate::sources::ByteStream> {
        check_name(name)?;
        let bytes = self
            .bytes(name)
            .ok_or_else(|| Error::not_found(format!("{name} is not in memory")))?;
        Ok(crate::sources::memory::chunked(bytes::Bytes::from(bytes)))
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        check_name(name)?;
        Ok(self.lock().remove(name).is_some())
    }
}
