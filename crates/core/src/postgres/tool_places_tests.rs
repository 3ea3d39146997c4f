use super::*;

/// A fake root holding `programs` in each of `folders` (relative, `/`-separated), named with
/// `os`'s suffix; returns the root.
fn fake_root(os: Os, folders: &[&str], programs: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for folder in folders {
        let dir = folder
            .split('/')
            .fold(root.path().to_path_buf(), |d, c| d.join(c));
        std::fs::create_dir_all(&dir).unwrap();
        for p in programs {
            std::fs::write(dir.join(format!("{p}{}", os.exe_suffix())), b"").unwrap();
        }
    }
    root
}

/// The client folders `os`'s places find under `root`, as `/`-separated relative paths.
fn found(os: Os, root: &Path, main: &str, also: &[&str], server: bool) -> Vec<String> {
    let mut dirs = install_dirs(os.places().client, root);
    if server {
        dirs.extend(install_dirs(os.places().server, root));
    }
    dirs_holding(dirs, main, also, os.exe_suffix())
        .into_iter()
        .map(|(d, _)| {
            let rel = d.strip_prefix(root).unwrap();
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

const CLIENT: &[&str] = &["pg_dump", "pg_restore", "psql"];

#[test]
fn linux_finds_debian_pgdg_and_linuxbrew_layouts() {
    let os = Os::Linux;
    let root = fake_root(
        os,
        &[
            "usr/lib/postgresql/15/bin",
            "usr/lib/postgresql/17/bin",
            "usr/pgsql-16/bin",
            "home/linuxbrew/.linuxbrew/opt/postgresql@14/bin",
            // Not install layouts of Linux: never looked at there.
            "opt/homebrew/opt/postgresql@17/bin",
            "Program Files/PostgreSQL/17/bin",
            // A folder beside the versions that does not match the pattern.
            "usr/lib/postgresqlx/1/bin",
        ],
        CLIENT,
    );
    assert_eq!(
        found(os, root.path(), "pg_dump", &["pg_restore"], false),
        [
            "usr/lib/postgresql/15/bin",
            "usr/lib/postgresql/17/bin",
            "usr/pgsql-16/bin",
            "home/linuxbrew/.linuxbrew/opt/postgresql@14/bin",
        ]
    );
}

#[test]
fn macos_finds_postgres_app_homebrew_kegs_on_both_prefixes_edb_and_macports() {
    let os = Os::MacOs;
    let root = fake_root(
        os,
        &[
            "Applications/Postgres.app/Contents/Versions/16/bin",
            "opt/homebrew/opt/postgresql@17/bin",
            "opt/homebrew/opt/libpq/bin",
            "usr/local/opt/postgresql@15/bin",
            "usr/local/opt/libpq/bin",
            "Library/PostgreSQL/14/bin",
            "opt/local/lib/postgresql13/bin",
            // Homebrew's unversioned link (its programs are found in the prefix's bin) and a
            // Linux layout.
            "opt/homebrew/opt/postgresql/bin",
            "usr/lib/postgresql/15/bin",
        ],
        CLIENT,
    );
    assert_eq!(
        found(os, root.path(), "pg_dump", &["pg_restore"], false),
        [
            "Applications/Postgres.app/Contents/Versions/16/bin",
            "opt/homebrew/opt/postgresql@17/bin",
            "opt/homebrew/opt/libpq/bin",
            "usr/local/opt/postgresql@15/bin",
            "usr/local/opt/libpq/bin",
            "Library/PostgreSQL/14/bin",
            "opt/local/lib/postgresql13/bin",
        ]
    );
    // The prefixes' bin folders (where `brew install postgresql@17` links its programs): a
    // program started from the Finder has neither on its PATH.
    let root = fake_root(os, &["opt/homebrew/bin", "usr/local/bin"], CLIENT);
    assert_eq!(
        found(os, root.path(), "pg_dump", &["pg_restore"], false),
        ["opt/homebrew/bin", "usr/local/bin"]
    );
}

#[test]
fn windows_finds_the_edb_installer_and_pgadmin_folders_by_their_exe_names() {
    let os = Os::Windows;
    let root = fake_root(
        os,
        &[
            "Program Files/PostgreSQL/16/bin",
            "Program Files/PostgreSQL/17/bin",
            "Program Files/pgAdmin 4/runtime",
            "Program Files/pgAdmin 4/v7/runtime",
            "usr/lib/postgresql/15/bin",
        ],
        CLIENT,
    );
    assert_eq!(
        found(os, root.path(), "pg_dump", &["pg_restore"], false),
        [
            "Program Files/PostgreSQL/16/bin",
            "Program Files/PostgreSQL/17/bin",
            "Program Files/pgAdmin 4/runtime",
            "Program Files/pgAdmin 4/v7/runtime",
        ]
    );
    // A program without `.exe` is not a Windows program.
    let root = fake_root(Os::Linux, &["Program Files/PostgreSQL/17/bin"], CLIENT);
    assert!(found(os, root.path(), "pg_dump", &["pg_restore"], false).is_empty());
}

#[test]
fn server_folders_need_initdb_pg_ctl_and_postgres() {
    const SERVER: &[&str] = &["postgres", "initdb", "pg_ctl"];
    for (os, with_server, client_only) in [
        (Os::Linux, "usr/local/pgsql/bin", "usr/pgsql-16/bin"),
        (
            Os::MacOs,
            "opt/homebrew/opt/postgresql@17/bin",
            "opt/homebrew/opt/libpq/bin",
        ),
        (
            Os::Windows,
            "Program Files/PostgreSQL/17/bin",
            "Program Files/pgAdmin 4/runtime",
        ),
    ] {
        let root = fake_root(os, &[with_server], SERVER);
        let client = fake_root(os, &[client_only], CLIENT);
        assert_eq!(
            found(os, root.path(), "postgres", &["initdb", "pg_ctl"], true),
            [with_server],
            "{os:?}"
        );
        assert!(
            found(os, client.path(), "postgres", &["initdb", "pg_ctl"], true).is_empty(),
            "{os:?}"
        );
    }
}

#[test]
fn hints_name_each_systems_install_command() {
    assert!(Os::Linux
        .client_hint(17)
        .contains("sudo apt install postgresql-client-17"));
    assert!(Os::MacOs
        .client_hint(17)
        .contains("brew install postgresql@17"));
    assert!(Os::Windows.client_hint(17).contains("EDB installer"));
    assert!(Os::Linux
        .server_hint(16)
        .contains("sudo apt install postgresql-16"));
    assert!(Os::MacOs
        .server_hint(16)
        .contains("brew install postgresql@16"));
    assert!(Os::Windows.server_hint(16).contains("EDB installer"));
}

#[test]
fn this_systems_places_are_its_own() {
    let root = system_root();
    assert!(root.is_dir(), "{root:?}");
    #[cfg(windows)]
    {
        assert_eq!(Os::CURRENT, Os::Windows);
        // A drive's root such as C:\ (the Program Files folder is under it).
        assert!(root.to_string_lossy().ends_with(":\\"), "{root:?}");
        assert!(root.join("Program Files").is_dir(), "{root:?}");
    }
    #[cfg(target_os = "macos")]
    assert_eq!(Os::CURRENT, Os::MacOs);
    #[cfg(target_os = "linux")]
    {
        assert_eq!(Os::CURRENT, Os::Linux);
        assert_eq!(root, Path::new("/"));
    }
}
