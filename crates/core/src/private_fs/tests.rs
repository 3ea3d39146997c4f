//! Private files and folders, read back from the file system: on every OS through
//! [`is_private`], on Unix also as modes, on Windows also as the DACL itself.

use super::*;

/// Everything this module creates is private, read back (and a plain `std` file beside it,
/// made the way the code did before, is not: the check can fail).
#[test]
fn everything_created_is_private_read_back() {
    let d = tempfile::tempdir().unwrap();
    let plain = d.path().join("plain");
    std::fs::write(&plain, b"x").unwrap();
    loosen(&plain);
    let deep = d.path().join("a/b/c");
    create_dir_all(&deep).unwrap();
    for p in ["a", "a/b", "a/b/c"] {
        assert!(is_private(&d.path().join(p)).unwrap(), "{p}");
    }
    create_dir(&d.path().join("e")).unwrap();
    assert!(is_private(&d.path().join("e")).unwrap());
    create_new(&deep.join("f")).unwrap();
    assert!(is_private(&deep.join("f")).unwrap());
    // A file created in a folder that is not private is private all the same.
    create_new(&d.path().join("g")).unwrap();
    assert!(is_private(&d.path().join("g")).unwrap());
    open_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(d.path().join("h"))
        .unwrap();
    assert!(is_private(&d.path().join("h")).unwrap());
    let t = tempfile_in(d.path(), ".x-").unwrap();
    assert!(is_private(t.path()).unwrap());
    let td = tempdir_in(d.path(), ".y-").unwrap();
    assert!(is_private(td.path()).unwrap());
    write_atomic(&d.path().join("w"), b"bytes").unwrap();
    assert!(is_private(&d.path().join("w")).unwrap());
    assert_eq!(std::fs::read(d.path().join("w")).unwrap(), b"bytes");
    assert!(
        !is_private(&plain).unwrap(),
        "a file made without this module is readable by others (else this test proves nothing)"
    );
}

#[test]
fn tighten_makes_a_loose_file_and_folder_private_once() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("f");
    std::fs::write(&f, b"x").unwrap();
    loosen(&f);
    assert!(!is_private(&f).unwrap());
    let was = tighten(&f).unwrap().expect("it changed something");
    assert!(!was.is_empty());
    assert!(is_private(&f).unwrap());
    assert_eq!(tighten(&f).unwrap(), None);
    assert_eq!(std::fs::read(&f).unwrap(), b"x", "the owner still reads it");
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    loosen(&sub);
    assert!(!is_private(&sub).unwrap());
    assert!(tighten(&sub).unwrap().is_some());
    assert!(is_private(&sub).unwrap());
    // Windows: what is made later in a tightened folder inherits its owner-only entry (on Unix
    // nobody else can reach it: the folder is 0700).
    #[cfg(windows)]
    {
        std::fs::write(sub.join("inside"), b"y").unwrap();
        assert!(is_private(&sub.join("inside")).unwrap());
    }
}

/// What a file made the plain way gets: on Unix 0644 (whatever this process's umask); on
/// Windows the parent folder's inherited entries (the system's temporary folder lets others
/// in, or the test says so).
fn loosen(p: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(windows)]
    let _ = p;
}

#[cfg(windows)]
mod windows {
    use super::super::imp::{dacl_sddl, sddl_is_private};
    use super::*;

    const ME: &str = "S-1-5-21-1-2-3-1000";

    #[test]
    fn sddl_reading() {
        assert!(sddl_is_private(&format!("D:P(A;OICI;FA;;;{ME})"), ME));
        assert!(sddl_is_private(&format!("D:AI(A;ID;FA;;;{ME})"), ME));
        assert!(sddl_is_private(
            &format!("D:P(D;;FA;;;WD)(A;;FA;;;{ME})"),
            ME
        ));
        assert!(!sddl_is_private(
            &format!("D:P(A;;FA;;;{ME})(A;;FR;;;WD)"),
            ME
        ));
        assert!(!sddl_is_private(
            &format!("D:P(A;OICIIO;FA;;;BU)(A;;FA;;;{ME})"),
            ME
        ));
        assert!(sddl_is_private(
            &format!("D:(A;;FA;;;SY)(A;;FA;;;{ME})"),
            ME
        ));
        assert!(
            !sddl_is_private("D:(A;;FA;;;SY)", ME),
            "SYSTEM alone is not the user"
        );
        assert!(!sddl_is_private(
            &format!("D:(A;;FA;;;BA)(A;;FA;;;{ME})"),
            ME
        ));
        assert!(!sddl_is_private("D:NO_ACCESS_CONTROL", ME));
        assert!(
            !sddl_is_private("D:P", ME),
            "an empty DACL is no one's: not ours"
        );
        assert!(!sddl_is_private("", ME));
    }

    /// The DACL read back grants the user, and nobody else but SYSTEM. (Windows keeps it as
    /// set: protected, one entry; Wine keeps it as a Unix mode and reads that back.)
    #[test]
    fn the_acl_read_back_names_only_the_user() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        create_new(&f).unwrap();
        let sddl = dacl_sddl(&f).unwrap();
        let grants: Vec<&str> = sddl
            .split('(')
            .skip(1)
            .filter(|a| a.starts_with("A;"))
            .collect();
        assert!(!grants.is_empty(), "{sddl}");
        for g in grants {
            let trustee = g.trim_end_matches(')').rsplit(';').next().unwrap();
            assert!(
                trustee == "SY" || trustee.starts_with("S-1-5-21-"),
                "{sddl}"
            );
        }
    }
}

#[cfg(unix)]
mod unix {
    use super::super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn created_files_and_folders_are_private() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("a/b/c");
        create_dir_all(&deep).unwrap();
        for p in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&d.path().join(p)), DIR_MODE, "{p}");
        }
        create_dir(&d.path().join("e")).unwrap();
        assert_eq!(mode(&d.path().join("e")), DIR_MODE);
        create_new(&deep.join("f")).unwrap();
        assert_eq!(mode(&deep.join("f")), FILE_MODE);
        let t = tempfile_in(d.path(), ".x-").unwrap();
        assert_eq!(mode(t.path()), FILE_MODE);
        let td = tempdir_in(d.path(), ".y-").unwrap();
        assert_eq!(mode(td.path()), DIR_MODE);
    }

    #[test]
    fn tighten_removes_group_and_other_bits_and_reports_the_old_mode() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(tighten(&f).unwrap().as_deref(), Some("mode 0644"));
        assert_eq!(mode(&f), FILE_MODE);
        assert_eq!(tighten(&f).unwrap(), None);
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(tighten(d.path()).unwrap().as_deref(), Some("mode 0755"));
        assert_eq!(mode(d.path()), DIR_MODE);
    }
}
