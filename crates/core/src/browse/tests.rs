use super::objects::base64;
use super::*;

#[test]
fn base64_is_the_standard_alphabet_with_padding() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x01]), "//4AAQ==");
}

#[test]
fn column_equals_is_parsed_not_sql() {
    let c = ColumnEquals::parse(" email = a=b ").unwrap();
    assert_eq!(c.column, "email");
    assert_eq!(c.value, " a=b ");
    assert!(ColumnEquals::parse("no equals sign").is_err());
    assert!(ColumnEquals::parse("=x").is_err());
    // A column quoted as SQL writes it: capitals, quotes and `=` in its name.
    let c = ColumnEquals::parse(r#""Id"=3"#).unwrap();
    assert_eq!((c.column.as_str(), c.value.as_str()), ("Id", "3"));
    let c = ColumnEquals::parse(r#""a""b=c" = x=y"#).unwrap();
    assert_eq!((c.column.as_str(), c.value.as_str()), (r#"a"b=c"#, " x=y"));
    assert!(ColumnEquals::parse(r#""open=1"#).is_err());
    assert!(ColumnEquals::parse(r#""x"y=1"#).is_err());
    assert!(ColumnEquals::parse(r#"""=1"#).is_err());
}

mod objects {
    use super::super::*;
    use crate::archive::ArchiveWriter;
    use crate::storage::{ObjectEntry, StorageDoc, STORAGE_DOC};
    use crate::test_fixtures::{manifest, quiet, sha};
    use tokio_util::sync::CancellationToken;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-not-really-an-image-but-bytes";

    fn entry(key: &str, member: Option<&str>, bytes: &[u8], ct: &str) -> ObjectEntry {
        ObjectEntry {
            bucket: "b".into(),
            key: key.into(),
            member: member.map(str::to_string),
            size: bytes.len() as u64,
            content_type: Some(ct.into()),
            sha256: sha(bytes),
            ..Default::default()
        }
    }

    /// An archive with four objects: an image, a long text (with a multi-byte character at
    /// the preview's cut), a binary, one whose bytes are in a base backup; `lie` makes the
    /// text's recorded SHA-256 wrong.
    fn archive(dir: &std::path::Path, lie: bool) -> (std::path::PathBuf, Vec<u8>) {
        let mut text = "é".repeat(3000).into_bytes();
        text.extend_from_slice(b"end");
        let bin = vec![0u8, 1, 2, 3, 255];
        let mut doc = StorageDoc {
            objects: vec![
                entry("a/pic.png", Some("storage/b/a/pic.png"), PNG, "image/png"),
                entry(
                    "notes.txt",
                    Some("storage/b/notes.txt"),
                    &text,
                    "text/plain",
                ),
                entry(
                    "blob",
                    Some("storage/b/blob"),
                    &bin,
                    "application/octet-stream",
                ),
                entry("old.txt", None, b"x", "text/plain"),
            ],
            base_backup_id: Some("base-1".into()),
            ..Default::default()
        };
        if lie {
            doc.objects[1].sha256 = sha(b"something else");
        }
        let mut w = ArchiveWriter::create(dir, "shop_20261124_100000_storage.tar.gz", 3).unwrap();
        w.add_bytes(STORAGE_DOC, serde_json::to_vec(&doc).unwrap());
        w.add_bytes("storage/b/a/pic.png", PNG.to_vec());
        w.add_bytes("storage/b/notes.txt", text.clone());
        w.add_bytes("storage/b/blob", bin);
        let path = w
            .finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap()
            .path;
        (path, text)
    }

    #[test]
    fn objects_are_listed_previewed_and_saved() {
        let dir = tempfile::tempdir().unwrap();
        let (path, text) = archive(dir.path(), false);
        let c = CancellationToken::new();
        let q = ObjectQuery {
            limit: 2,
            offset: 1,
            ..Default::default()
        };
        let page = list_objects(&path, &q, &c).unwrap();
        assert_eq!(page.total, 4);
        assert!(page.more);
        let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, vec!["notes.txt", "blob"]);
        assert_eq!(page.objects[0].preview, PreviewKind::Text);
        assert_eq!(page.objects[1].preview, PreviewKind::None);
        let q = ObjectQuery {
            prefix: Some("a/".into()),
            ..Default::default()
        };
        let page = list_objects(&path, &q, &c).unwrap();
        assert_eq!(page.objects.len(), 1);
        assert_eq!(page.objects[0].preview, PreviewKind::Image);

        let img = object_preview(&path, "b", "a/pic.png", 1 << 20, &c).unwrap();
        assert_eq!(img.kind, PreviewKind::Image);
        assert_eq!(
            img.image_base64.as_deref(),
            Some(super::super::objects::base64(PNG).as_str())
        );
        // Too large for the preview asked for: nothing read, said why.
        let img = object_preview(&path, "b", "a/pic.png", 10, &c).unwrap();
        assert_eq!(img.kind, PreviewKind::None);
        assert!(img.note.unwrap().contains("more than a preview shows"));
        // Text: at most the bytes asked for, cut before a split character.
        let t = object_preview(&path, "b", "notes.txt", 1001, &c).unwrap();
        assert!(t.truncated);
        assert_eq!(t.text.as_deref(), Some("é".repeat(500).as_str()));
        let t = object_preview(&path, "b", "notes.txt", 1 << 20, &c).unwrap();
        assert!(!t.truncated);
        assert_eq!(t.text.unwrap().as_bytes(), &text[..]);
        let none = object_preview(&path, "b", "blob", 1 << 20, &c).unwrap();
        assert_eq!(
            (none.kind, none.text, none.image_base64),
            (PreviewKind::None, None, None)
        );
        let e = object_preview(&path, "b", "old.txt", 100, &c).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
        assert!(e.message().contains("base-1"), "{e}");
        let e = object_preview(&path, "b", "nope", 100, &c).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);

        // Saving: the bytes, 0600, replacing a readable file that was there.
        let dest = dir.path().join("saved.txt");
        std::fs::write(&dest, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let saved = save_object(&path, "b", "notes.txt", &dest, &c).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), text);
        assert_eq!(saved.bytes, text.len() as u64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn every_object_is_reached_page_by_page_and_found_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let objects: Vec<ObjectEntry> = (0..1234)
            .map(|i| {
                let mut e = entry(&format!("u/{i:04}.png"), None, b"x", "image/png");
                e.bucket = if i % 2 == 0 { "even" } else { "Odd" }.into();
                e
            })
            .collect();
        let doc = StorageDoc {
            objects,
            ..Default::default()
        };
        let mut w =
            ArchiveWriter::create(dir.path(), "shop_20261124_100000_storage.tar.gz", 3).unwrap();
        w.add_bytes(STORAGE_DOC, serde_json::to_vec(&doc).unwrap());
        let c = CancellationToken::new();
        let path = w.finish(manifest(), &quiet(), &c).unwrap().path;
        // A limit past the cap is cut to it; paging reaches every object once.
        let (mut seen, mut offset) = (Vec::new(), 0u64);
        loop {
            let q = ObjectQuery {
                offset,
                limit: u32::MAX,
                ..Default::default()
            };
            let page = list_objects(&path, &q, &c).unwrap();
            assert_eq!(page.total, 1234);
            assert!(page.objects.len() <= MAX_OBJECT_PAGE as usize);
            offset += page.objects.len() as u64;
            seen.extend(
                page.objects
                    .into_iter()
                    .map(|o| format!("{}/{}", o.bucket, o.key)),
            );
            if !page.more {
                break;
            }
        }
        assert_eq!(seen.len(), 1234);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 1234);
        // By name (case-insensitive, bucket/key), with paging over the matches.
        let q = ObjectQuery {
            search: Some("odd/U/11".into()),
            limit: 3,
            offset: 2,
            ..Default::default()
        };
        let page = list_objects(&path, &q, &c).unwrap();
        // Odd/u/1101, 1103, .., 1199: 50 matches.
        assert_eq!(page.total, 50);
        let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, vec!["u/1105.png", "u/1107.png", "u/1109.png"]);
        assert!(page.more);
    }

    #[test]
    fn an_object_whose_bytes_are_not_the_recorded_ones_is_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = archive(dir.path(), true);
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("notes.txt");
        let e = save_object(&path, "b", "notes.txt", &dest, &CancellationToken::new()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Integrity, "{e}");
        assert!(!dest.exists());
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "no temporary file left"
        );
    }
}
