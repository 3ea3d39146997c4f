//! The upload path of [`S3Destination`]: one `PutObject`, or a multipart upload with parts
//! streamed from the body, at most two in flight, each retried on its own, aborted on every
//! failure (see `s3.rs` for the rules).

use super::s3::{valid_sha256, S3Destination, MAX_PARTS, SHA256_METADATA};
use super::{check_name, Destination, PutBody, PutOptions, Sha256, StoredObject};
use crate::error::{Error, ErrorKind, Result};
use crate::sources::ByteStream;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, StorageClass};
use aws_smithy_types::byte_stream::ByteStream as SdkStream;
use bytes::{Bytes, BytesMut};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use md5::Digest;
use std::sync::atomic::Ordering;

/// Parts uploading at once.
const IN_FLIGHT: usize = 2;

pub(super) async fn put(
    d: &S3Destination,
    name: &str,
    body: &dyn PutBody,
    opts: PutOptions,
) -> Result<StoredObject> {
    check_name(name)?;
    if !opts.overwrite && d.head(name).await?.is_some() {
        return Err(exists(d, name));
    }
    let known = match body.sha256() {
        Some(s) => Some(valid_sha256(&s).ok_or_else(|| {
            Error::invalid(format!("the SHA-256 given for {name} is not 64 hex digits"))
        })?),
        None => None,
    };
    let part_size = part_size_for(d.part_size, body.size());
    let mut reader = PartReader::new(body.open().await?, part_size);
    reader.fill().await?;
    let (size, sha) = if reader.eof && reader.carry.is_none() {
        let first = reader.take();
        let sha = reader.sha.take().expect("hashing").hex();
        if let Some(k) = &known {
            if *k != sha {
                return Err(changed(name));
            }
        }
        let size = first.len() as u64;
        put_single(d, name, first, &sha, opts).await?;
        (size, sha)
    } else {
        let (reader, sha) = match known {
            Some(k) => (reader, k),
            None => {
                // The hash is the upload's metadata, needed before the first part: read the
                // body once to compute it, then again to send it.
                drop(reader);
                let sha = hash_body(body).await?;
                (PartReader::new(body.open().await?, part_size), sha)
            }
        };
        let size = put_multipart(d, name, reader, &sha, opts).await?;
        (size, sha)
    };
    verify(d, name, size, &sha).await
}

/// After the put: the store must show the size streamed and the SHA-256 computed.
async fn verify(d: &S3Destination, name: &str, size: u64, sha: &str) -> Result<StoredObject> {
    let what = format!("checking {name} in {}", d.location());
    let stored = d
        .retry
        .run(&what, &d.reporter, &d.cancel, || d.head(name))
        .await?;
    let Some(mut stored) = stored else {
        return Err(Error::integrity(format!(
            "{what}: the object is not there after the upload"
        )));
    };
    if stored.size != size || stored.sha256.as_deref() != Some(sha) {
        let _ = d.delete(name).await;
        return Err(Error::integrity(format!(
            "{what}: the store holds {} bytes with SHA-256 {:?}, but {size} bytes with {sha} were sent; the copy was deleted",
            stored.size, stored.sha256
        )));
    }
    stored.sha256 = Some(sha.to_string());
    Ok(stored)
}

fn exists(d: &S3Destination, name: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!("{name} already exists in {}", d.location()),
    )
    .with_hint("choose another name, or allow replacing it")
}

fn changed(name: &str) -> Error {
    Error::integrity(format!(
        "{name}: the bytes read do not have the SHA-256 the archive was recorded with (the file changed or is damaged)"
    ))
}

/// The part size: the configured one, or more when the body would need more than 10,000 parts
/// (rounded up to whole MiB).
fn part_size_for(configured: usize, size: Option<u64>) -> usize {
    let Some(size) = size else {
        return configured;
    };
    let needed = size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20;
    configured.max(needed as usize)
}

/// The SHA-256 of a body, read once whole.
async fn hash_body(body: &dyn PutBody) -> Result<String> {
    let mut stream = body.open().await?;
    let mut sha = Sha256::new();
    while let Some(chunk) = stream.next().await {
        sha.update(&chunk?);
    }
    Ok(sha.hex())
}

/// Cuts a byte stream into parts, hashing as it goes.
struct PartReader {
    stream: ByteStream,
    part_size: usize,
    /// Bytes read past the last part.
    carry: Option<Bytes>,
    buf: BytesMut,
    eof: bool,
    sha: Option<Sha256>,
    total: u64,
}

impl PartReader {
    fn new(stream: ByteStream, part_size: usize) -> Self {
        PartReader {
            stream,
            part_size,
            carry: None,
            buf: BytesMut::new(),
            eof: false,
            sha: Some(Sha256::new()),
            total: 0,
        }
    }

    /// Read until a part is full or the body ends. Cancel-safe: what was read stays in the
    /// buffer, so a `select!` may drop this future and call it again.
    async fn fill(&mut self) -> Result<()> {
        if self.buf.capacity() == 0 {
            self.buf.reserve(self.part_size);
        }
        while self.buf.len() < self.part_size && !self.eof {
            let chunk = match self.carry.take() {
                Some(c) => c,
                None => match self.stream.next().await {
                    Some(c) => {
                        let c = c?;
                        if let Some(s) = self.sha.as_mut() {
                            s.update(&c);
                        }
                        self.total += c.len() as u64;
                        c
                    }
                    None => {
                        self.eof = true;
                        break;
                    }
                },
            };
            let room = self.part_size - self.buf.len();
            if chunk.len() > room {
                self.buf.extend_from_slice(&chunk[..room]);
                self.carry = Some(chunk.slice(room..));
            } else {
                self.buf.extend_from_slice(&chunk);
            }
        }
        Ok(())
    }

    /// The filled part (empty at the end).
    fn take(&mut self) -> Bytes {
        std::mem::take(&mut self.buf).freeze()
    }

    #[cfg(test)]
    async fn next_part(&mut self) -> Result<Bytes> {
        self.fill().await?;
        Ok(self.take())
    }

    /// No bytes left to read or hand out.
    fn done(&self) -> bool {
        self.eof && self.carry.is_none() && self.buf.is_empty()
    }
}

fn md5_base64(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(md5::Md5::digest(bytes))
}

/// Whether an error says the store does not implement something we sent (a header).
fn not_implemented<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some("NotImplemented"))
}

/// A retain-until date as the SDK sends it (whole seconds, UTC).
fn retain_until(t: time::OffsetDateTime) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.unix_timestamp())
}

/// Whether an error is a failed `If-None-Match` (the name was taken meanwhile).
fn precondition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(e, SdkError::ServiceError(se)
        if matches!(se.err().code(), Some("PreconditionFailed") | Some("ConditionalRequestConflict")))
}

async fn put_single(
    d: &S3Destination,
    name: &str,
    bytes: Bytes,
    sha: &str,
    opts: PutOptions,
) -> Result<()> {
    let what = format!("uploading {name} to {}", d.location());
    let md5 = md5_base64(&bytes);
    let key = d.key_of(name);
    let send = || async {
        loop {
            let md5_on = !d.no_md5.load(Ordering::Relaxed);
            let cond = !opts.overwrite && !d.no_conditional.load(Ordering::Relaxed);
            let r = d
                .client
                .put_object()
                .bucket(&d.bucket)
                .key(&key)
                .content_length(bytes.len() as i64)
                .set_content_md5(md5_on.then(|| md5.clone()))
                .set_if_none_match(cond.then(|| "*".to_string()))
                .metadata(SHA256_METADATA, sha)
                .set_object_lock_mode(d.lock.map(|l| l.mode.sdk()))
                .set_object_lock_retain_until_date(d.lock.map(|l| retain_until(l.retain_until)))
                .set_storage_class(d.storage_class.as_deref().map(StorageClass::from))
                .body(SdkStream::from(bytes.clone()))
                .customize()
                .disable_payload_signing()
                .send()
                .await;
            match r {
                Ok(_) => return Ok(()),
                Err(e) if not_implemented(&e) && (md5_on || cond) => {
                    // Say it once, then go on without the optional header(s).
                    tracing::info!(target: "offsite::destinations", "{what}: the store does not implement Content-MD5 / If-None-Match; sending without");
                    d.no_md5.store(true, Ordering::Relaxed);
                    d.no_conditional.store(true, Ordering::Relaxed);
                }
                Err(e) if precondition_failed(&e) => return Err(exists(d, name)),
                Err(e) => return Err(d.error(&what, e)),
            }
        }
    };
    d.retry.run(&what, &d.reporter, &d.cancel, send).await
}

/// Aborts a multipart upload unless disarmed; when dropped armed (a cancelled put), from a
/// spawned task.
struct AbortGuard<'a> {
    d: &'a S3Destination,
    key: String,
    upload_id: Option<String>,
}

impl AbortGuard<'_> {
    async fn abort(&mut self) {
        if let Some(id) = self.upload_id.take() {
            let r = self
                .d
                .client
                .abort_multipart_upload()
                .bucket(&self.d.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await;
            if let Err(e) = r {
                tracing::warn!(target: "offsite::destinations", "aborting the upload of {}: {}", self.key, self.d.error("aborting", e));
            }
        }
    }
}

impl Drop for AbortGuard<'_> {
    fn drop(&mut self) {
        let Some(id) = self.upload_id.take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (client, bucket, key) = (
            self.d.client.clone(),
            self.d.bucket.clone(),
            self.key.clone(),
        );
        rt.spawn(async move {
            let _ = client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(id)
                .send()
                .await;
        });
    }
}

/// The multipart upload; returns the bytes sent.
async fn put_multipart(
    d: &S3Destination,
    name: &str,
    mut reader: PartReader,
    sha: &str,
    opts: PutOptions,
) -> Result<u64> {
    let what = format!("uploading {name} to {}", d.location());
    let key = d.key_of(name);
    let created = d
        .retry
        .run(&what, &d.reporter, &d.cancel, || async {
            d.client
                .create_multipart_upload()
                .bucket(&d.bucket)
                .key(&key)
                .metadata(SHA256_METADATA, sha)
                .set_object_lock_mode(d.lock.map(|l| l.mode.sdk()))
                .set_object_lock_retain_until_date(d.lock.map(|l| retain_until(l.retain_until)))
                .set_storage_class(d.storage_class.as_deref().map(StorageClass::from))
                .send()
                .await
                .map_err(|e| d.error(&what, e))
        })
        .await?;
    let upload_id = created
        .upload_id()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Connection,
                format!("{what}: the store started an upload without an id"),
            )
        })?
        .to_string();
    let mut guard = AbortGuard {
        d,
        key: key.clone(),
        upload_id: Some(upload_id.clone()),
    };
    let r = upload_parts(d, name, &key, &upload_id, &mut reader).await;
    let parts = match r {
        Ok(parts) => parts,
        Err(e) => {
            guard.abort().await;
            return Err(e);
        }
    };
    if reader.sha.take().expect("hashing").hex() != sha {
        guard.abort().await;
        return Err(changed(name));
    }
    if let Err(e) = complete(d, name, &key, &upload_id, parts, opts).await {
        // A completion whose answer was lost may have finished: aborting then fails harmlessly.
        guard.abort().await;
        return Err(e);
    }
    guard.upload_id = None;
    Ok(reader.total)
}

/// Stream the parts, at most [`IN_FLIGHT`] uploading while the next one is read.
async fn upload_parts(
    d: &S3Destination,
    name: &str,
    key: &str,
    upload_id: &str,
    reader: &mut PartReader,
) -> Result<Vec<CompletedPart>> {
    let mut done: Vec<CompletedPart> = Vec::new();
    let mut inflight = FuturesUnordered::new();
    let mut number: i32 = 0;
    loop {
        // Fill the next part while the parts in flight progress.
        while !reader.eof && reader.buf.len() < reader.part_size {
            tokio::select! {
                biased;
                Some(r) = inflight.next(), if !inflight.is_empty() => done.push(r?),
                r = reader.fill() => r?,
            }
        }
        if reader.buf.is_empty() && reader.done() {
            break;
        }
        while inflight.len() >= IN_FLIGHT {
            if let Some(r) = inflight.next().await {
                done.push(r?);
            }
        }
        number += 1;
        if number as u64 > MAX_PARTS {
            return Err(Error::invalid(format!(
                "{name} is too large for {MAX_PARTS} parts of {} bytes",
                reader.part_size
            )));
        }
        inflight.push(upload_part(d, name, key, upload_id, number, reader.take()));
        if reader.done() {
            break;
        }
    }
    while let Some(r) = inflight.next().await {
        done.push(r?);
    }
    done.sort_by_key(|p| p.part_number());
    Ok(done)
}

async fn upload_part(
    d: &S3Destination,
    name: &str,
    key: &str,
    upload_id: &str,
    number: i32,
    bytes: Bytes,
) -> Result<CompletedPart> {
    let what = format!("uploading part {number} of {name} to {}", d.location());
    let md5 = md5_base64(&bytes);
    let send = || async {
        loop {
            let md5_on = !d.no_md5.load(Ordering::Relaxed);
            let r = d
                .client
                .upload_part()
                .bucket(&d.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(bytes.len() as i64)
                .set_content_md5(md5_on.then(|| md5.clone()))
                .body(SdkStream::from(bytes.clone()))
                .customize()
                .disable_payload_signing()
                .send()
                .await;
            match r {
                Ok(out) => {
                    return Ok(CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag().map(str::to_string))
                        .build())
                }
                Err(e) if md5_on && not_implemented(&e) => {
                    d.no_md5.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(d.error(&what, e)),
            }
        }
    };
    d.retry.run(&what, &d.reporter, &d.cancel, send).await
}

async fn complete(
    d: &S3Destination,
    name: &str,
    key: &str,
    upload_id: &str,
    parts: Vec<CompletedPart>,
    opts: PutOptions,
) -> Result<()> {
    let what = format!("finishing the upload of {name} to {}", d.location());
    let parts = CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build();
    let send = || async {
        loop {
            let cond = !opts.overwrite && !d.no_conditional.load(Ordering::Relaxed);
            let r = d
                .client
                .complete_multipart_upload()
                .bucket(&d.bucket)
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(parts.clone())
                .set_if_none_match(cond.then(|| "*".to_string()))
                .send()
                .await;
            match r {
                Ok(_) => return Ok(()),
                Err(e) if cond && not_implemented(&e) => {
                    d.no_conditional.store(true, Ordering::Relaxed);
                }
                Err(e) if precondition_failed(&e) => return Err(exists(d, name)),
                Err(e) => return Err(d.error(&what, e)),
            }
        }
    };
    d.retry.run(&what, &d.reporter, &d.cancel, send).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_so_a_body_fits_in_ten_thousand() {
        assert_eq!(part_size_for(8 << 20, None), 8 << 20);
        assert_eq!(part_size_for(8 << 20, Some(1 << 30)), 8 << 20);
        // 200 GB: 20 MB parts (rounded up to whole MiB).
        let p = part_size_for(8 << 20, Some(200_000_000_000));
        assert!(p as u64 * MAX_PARTS >= 200_000_000_000);
        assert_eq!(p % (1 << 20), 0);
    }

    #[tokio::test]
    async fn parts_are_cut_at_the_part_size_whatever_the_chunks() {
        let data: Vec<u8> = (0..(25u32 << 20) / 7)
            .flat_map(|i| i.to_le_bytes())
            .collect();
        let body = super::super::BytesBody(Bytes::from(data.clone()));
        let mut r = PartReader::new(body.open().await.unwrap(), 5 << 20);
        let mut parts = Vec::new();
        loop {
            let p = r.next_part().await.unwrap();
            if p.is_empty() {
                break;
            }
            parts.push(p);
        }
        assert!(r.done());
        assert!(parts[..parts.len() - 1].iter().all(|p| p.len() == 5 << 20));
        assert_eq!(parts.concat(), data);
        assert_eq!(r.total, data.len() as u64);
    }
}
