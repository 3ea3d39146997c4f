//! A project that encrypts pulls a plaintext archive its backup server made (by the server's
//! own schedule, without the laptop's recipients): the laptop keeps it encrypted with the
//! project's key, as its own backups are, before it is registered (issue 41). The passphrase
//! mode is used here: with `OFFSITE_SECRET_STORE=env` its secret can be given in advance.

use super::*;

const AGE_HEADER: &[u8] = b"age-encryption.org/v1";

fn run_stdin(laptop: &Laptop, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
    c.arg("--data-dir").arg(laptop.data.path()).args(args);
    for var in ["PGPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE"] {
        c.env_remove(var);
    }
    let mut child = c
        .env("OFFSITE_SECRET_STORE", "env")
        .env("OFFSITE_SERVER_TOKEN", &laptop.token)
        .envs(laptop.env.lock().unwrap().clone())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plaintext_archive_pulled_from_the_server_is_encrypted_with_the_projects_key() {
    let db = database(500);
    let agent = start_agent(&db, &format!("127.0.0.1:{}", free_port()), false);
    let fp = agent.fingerprint.clone().unwrap();
    let token = agent.token();
    let laptop = Laptop::new(&token);
    let db_url = TestCluster::shared().url(&db);
    let add = laptop.run(&[
        "project",
        "add",
        "shop",
        "--db",
        &db_url,
        // The laptop never connects to the database itself: it pulls from the server.
        "--no-test",
        "--server",
        &agent.url,
        "--server-project",
        "shop",
        "--trust-fingerprint",
        &fp,
    ]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let pass = "pulled-archives-stay-encrypted";
    laptop.set_env(
        &offsite_core::secrets::env_var_for_key("project:shop:encryption-passphrase"),
        pass,
    );
    for args in [
        &["encryption", "set", "shop", "--passphrase-stdin"][..],
        &["encryption", "confirm", "shop"][..],
    ] {
        let out = run_stdin(&laptop, args, &format!("{pass}\n"));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The server's own backup, made without the laptop's recipients: plaintext.
    let client = agent.client(&token);
    backup_on_agent(&client).await;
    let on_server = agent.archives();
    assert_eq!(on_server.len(), 1, "{on_server:?}");
    assert!(!std::fs::read(&on_server[0])
        .unwrap()
        .starts_with(AGE_HEADER));

    let pulled = laptop.json(&["pull", "shop"], 0);
    let downloaded = pulled["downloaded"].as_array().unwrap();
    assert_eq!(downloaded.len(), 1, "{pulled}");
    let path = PathBuf::from(downloaded[0]["path"].as_str().unwrap());
    assert!(path.to_string_lossy().ends_with(".age"), "{pulled}");
    assert!(std::fs::read(&path).unwrap().starts_with(AGE_HEADER));
    // Nothing else in the backup folder: the plaintext is gone.
    let mut names = Vec::new();
    walk(path.parent().unwrap(), &mut |p| {
        names.push(p.file_name().unwrap().to_string_lossy().into_owned())
    });
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".age") || n.ends_with(".age.sha256") || n.starts_with('.')),
        "{names:?}"
    );
    let listed = laptop.backups();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["origin"], "server", "{listed:?}");
    assert_eq!(listed[0]["status"], "verified", "{listed:?}");
    assert_eq!(listed[0]["path"], path.to_str().unwrap(), "{listed:?}");
    // It opens with the project's passphrase (from the secret store).
    let verify = laptop.run(&["verify", path.to_str().unwrap()]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}
