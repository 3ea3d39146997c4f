//! The [`Destination`] contract.

use super::sha256_hex;
use crate::faults::{FailingBody, StallingBody};
use bytes::Bytes;
use offsite_core::destinations::{put_file, BytesBody, Destination, PutOptions};
use offsite_core::{Error, ErrorKind};
use std::time::Duration;

/// Run every check against `dest`, an empty destination. `leftovers` lists anything the
/// implementation keeps besides finished objects (temporary files of a folder, pending uploads
/// of a bucket): it must be empty after every failed or cancelled put.
pub async fn check_destination(dest: &dyn Destination, leftovers: &dyn Fn() -> Vec<String>) {
    put_then_read_back(dest).await;
    overwrite_rules(dest).await;
    failed_put_leaves_nothing(dest, leftovers).await;
    cancelled_put_leaves_nothing(dest, leftovers).await;
    delete_rules(dest).await;
    names(dest).await;
    assert_eq!(
        leftovers(),
        Vec::<String>::new(),
        "{}: leftovers",
        dest.location()
    );
}

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn put_bytes(
    dest: &dyn Destination,
    name: &str,
    bytes: &[u8],
    overwrite: bool,
) -> offsite_core::Result<offsite_core::destinations::StoredObject> {
    dest.put(
        name,
        &BytesBody(Bytes::copy_from_slice(bytes)),
        PutOptions { overwrite },
    )
    .await
}

/// put (from a file, streamed) → list / stat / sha256 agree with what was put.
pub async fn put_then_read_back(dest: &dyn Destination) {
    let loc = dest.location();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("archive.tar.gz");
    let bytes = content(3 * 1024 * 1024 + 17, 1); // several chunks
    std::fs::write(&src, &bytes).unwrap();
    let name = "proj/proj_20261122_101500_database.tar.gz";
    let stored = put_file(dest, name, &src, PutOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{loc}: put failed: {e}"));
    assert_eq!(stored.name, name, "{loc}");
    assert_eq!(stored.size, bytes.len() as u64, "{loc}");
    assert_eq!(
        stored.sha256.as_deref(),
        Some(sha256_hex(&bytes).as_str()),
        "{loc}: put's sha256"
    );
    let sidecar = format!("{name}.sha256");
    let line = format!(
        "{}  proj_20261122_101500_database.tar.gz\n",
        sha256_hex(&bytes)
    );
    put_bytes(dest, &sidecar, line.as_bytes(), false)
        .await
        .unwrap();
    let empty = "proj/empty";
    let s = put_bytes(dest, empty, b"", false).await.unwrap();
    assert_eq!(s.size, 0, "{loc}: empty object");

    let listed = dest.list("proj/").await.unwrap();
    let names: Vec<&str> = listed.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        vec![empty, name, sidecar.as_str()],
        "{loc}: sorted listing"
    );
    assert_eq!(listed[1].size, bytes.len() as u64, "{loc}");
    assert!(
        dest.list("nothing-here/").await.unwrap().is_empty(),
        "{loc}"
    );

    let st = dest
        .stat(name)
        .await
        .unwrap()
        .expect("stat of a put object");
    assert_eq!(st.size, bytes.len() as u64, "{loc}");
    if let Some(sha) = &st.sha256 {
        assert_eq!(*sha, sha256_hex(&bytes), "{loc}: stat's sha256");
    }
    assert_eq!(
        dest.sha256(name).await.unwrap(),
        sha256_hex(&bytes),
        "{loc}"
    );
    assert_eq!(dest.sha256(empty).await.unwrap(), sha256_hex(b""), "{loc}");
    assert!(dest.stat("proj/missing").await.unwrap().is_none(), "{loc}");
    let e = dest.sha256("proj/missing").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{loc}: {e}");
    for n in [name, sidecar.as_str(), empty] {
        assert!(dest.delete(n).await.unwrap(), "{loc}");
    }
}

/// A put never replaces an object unless asked to; with `overwrite` it does, whole.
pub async fn overwrite_rules(dest: &dyn Destination) {
    let loc = dest.location();
    let (a, b) = (content(70_000, 2), content(50_000, 3));
    put_bytes(dest, "ow/x", &a, false).await.unwrap();
    let e = put_bytes(dest, "ow/x", &b, false).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{loc}: {e}");
    assert!(!e.is_temporary(), "{loc}: already_exists is permanent");
    assert_eq!(
        dest.sha256("ow/x").await.unwrap(),
        sha256_hex(&a),
        "{loc}: kept"
    );
    let s = put_bytes(dest, "ow/x", &b, true).await.unwrap();
    assert_eq!(s.size, b.len() as u64, "{loc}");
    assert_eq!(
        dest.sha256("ow/x").await.unwrap(),
        sha256_hex(&b),
        "{loc}: replaced"
    );
    assert_eq!(dest.list("ow/").await.unwrap().len(), 1, "{loc}");
    assert!(dest.delete("ow/x").await.unwrap());
}

/// A body that fails midway (a read error, a full disk, a cut connection): the put fails with
/// that error and nothing is visible — not under the name, not in a listing, no leftovers. An
/// overwrite that fails keeps the old object.
pub async fn failed_put_leaves_nothing(
    dest: &dyn Destination,
    leftovers: &dyn Fn() -> Vec<String>,
) {
    let loc = dest.location();
    for error in [
        Error::io("reading the archive", std::io::Error::from_raw_os_error(28)), // ENOSPC
        Error::new(
            ErrorKind::Integrity,
            "the source file changed while it was read",
        ),
    ] {
        let kind = error.kind();
        let body = FailingBody {
            good: 200_000,
            error,
        };
        let e = dest
            .put("atomic/half", &body, PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{loc}: the body's error comes through: {e}");
        assert!(
            dest.stat("atomic/half").await.unwrap().is_none(),
            "{loc}: half object visible"
        );
        assert!(
            dest.list("").await.unwrap().is_empty(),
            "{loc}: listing shows a failed put"
        );
        assert_eq!(
            leftovers(),
            Vec::<String>::new(),
            "{loc}: leftovers of a failed put"
        );
    }
    let old = content(1000, 4);
    put_bytes(dest, "atomic/keep", &old, false).await.unwrap();
    let body = FailingBody {
        good: 5000,
        error: Error::new(ErrorKind::Integrity, "changed"),
    };
    dest.put("atomic/keep", &body, PutOptions { overwrite: true })
        .await
        .unwrap_err();
    assert_eq!(
        dest.sha256("atomic/keep").await.unwrap(),
        sha256_hex(&old),
        "{loc}: a failed overwrite kept the old object"
    );
    assert!(dest.delete("atomic/keep").await.unwrap());
    assert_eq!(leftovers(), Vec::<String>::new(), "{loc}");
}

/// A put whose future is dropped midway (a cancelled job) leaves nothing.
pub async fn cancelled_put_leaves_nothing(
    dest: &dyn Destination,
    leftovers: &dyn Fn() -> Vec<String>,
) {
    let loc = dest.location();
    let body = StallingBody { good: 100_000 };
    let put = dest.put("cancel/x", &body, PutOptions::default());
    let r = tokio::time::timeout(Duration::from_millis(300), put).await;
    assert!(r.is_err(), "{loc}: a put of a stalled body finished");
    assert!(dest.stat("cancel/x").await.unwrap().is_none(), "{loc}");
    assert!(dest.list("").await.unwrap().is_empty(), "{loc}");
    assert_eq!(
        leftovers(),
        Vec::<String>::new(),
        "{loc}: leftovers of a cancelled put"
    );
}

/// delete: true when it removed something, false (not an error) when there was nothing.
pub async fn delete_rules(dest: &dyn Destination) {
    let loc = dest.location();
    assert!(!dest.delete("del/never-was").await.unwrap(), "{loc}");
    put_bytes(dest, "del/x", b"x", false).await.unwrap();
    assert!(dest.delete("del/x").await.unwrap(), "{loc}");
    assert!(!dest.delete("del/x").await.unwrap(), "{loc}: second delete");
    assert!(dest.stat("del/x").await.unwrap().is_none(), "{loc}");
}

/// Spaces, unicode and nesting round-trip; unsafe names are refused as `invalid_input`.
pub async fn names(dest: &dyn Destination) {
    let loc = dest.location();
    let odd = [
        "with space.tar.gz",
        "ünïcødé ✓/日本語 ファイル.tar.gz",
        "a/b/c/d.tar.gz",
        ".hidden",
    ];
    for (i, n) in odd.iter().enumerate() {
        let bytes = content(100 + i, i as u8);
        put_bytes(dest, n, &bytes, false)
            .await
            .unwrap_or_else(|e| panic!("{loc}: put {n:?}: {e}"));
        assert_eq!(
            dest.sha256(n).await.unwrap(),
            sha256_hex(&bytes),
            "{loc}: {n:?}"
        );
    }
    let mut want: Vec<&str> = odd.to_vec();
    want.sort();
    let listed: Vec<String> = dest
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(listed, want, "{loc}");
    for bad in ["", "/abs", "a//b", "../up", "a/../b", "back\\slash"] {
        let e = put_bytes(dest, bad, b"x", false).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{loc}: {bad:?}: {e}");
        assert!(!e.is_temporary(), "{loc}");
    }
    for n in odd {
        assert!(dest.delete(n).await.unwrap(), "{loc}: {n:?}");
    }
    assert!(dest.list("").await.unwrap().is_empty(), "{loc}");
}
