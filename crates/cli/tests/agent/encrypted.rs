//! Archives the agent makes encrypted to the laptop's public keys (issue 25, 4b): the request
//! carries recipients only, the archive is `.tar.zst.age` (zstd by default), nothing the server keeps can open it,
//! and the laptop's key restores it (`offsite restore --key-stdin`). A passphrase is refused.

use super::*;

fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn age_keygen() -> (String, String) {
    let text = String::from_utf8(run_ok(&mut Command::new("age-keygen"))).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    (text, public)
}

/// Every file under `dir` (recursively).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn the_agent_encrypts_to_the_laptops_recipients_and_holds_no_key() {
    let fx = fixture(700);
    let agent = start(&fx, "", true);
    let token = agent.token(&["--project", "shop"]);
    let c = http();
    let (laptop_id, laptop_pub) = age_keygen();
    let (extra_id, extra_pub) = age_keygen();

    // A passphrase (the server would hold it) and bad keys are refused.
    for enc in [
        json!({"passphrase": "pw"}),
        json!({"recipients": []}),
        json!({"recipients": ["age1notakey"]}),
        json!(true),
    ] {
        let (s, e) = send(
            &c,
            reqwest::Method::POST,
            &backups_url(&agent, "shop"),
            Some(&token),
            Some(json!({"type": "DATABASE", "encryption": enc})),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{enc}: {e}");
    }

    let (s, created) = send(
        &c,
        reqwest::Method::POST,
        &backups_url(&agent, "shop"),
        Some(&token),
        Some(json!({"type": "DATABASE", "encryption": {"recipients": [laptop_pub, extra_pub]}})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{created}");
    let id = created["backup_id"].as_str().unwrap().to_string();
    let status_url = format!("{}/{id}", backups_url(&agent, "shop"));
    let (done, _) = wait_done(&c, &status_url, &token).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let name = done["file_name"].as_str().unwrap().to_string();
    assert!(name.ends_with(".tar.zst.age"), "{name}");

    let (s, link) = send(
        &c,
        reqwest::Method::GET,
        &format!("{status_url}/download"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{link}");
    let bytes = c
        .get(link["download_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join(&name);
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(
        offsite_core::archive::sha256_file(&file).unwrap(),
        done["sha256"].as_str().unwrap(),
        "the server's checksum is the ciphertext's"
    );

    // Nothing the server keeps holds a secret key, the passphrase-less data's plaintext, or
    // anything that opens the archive.
    for f in files(agent.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
        assert!(
            !text.contains("AGE-SECRET-KEY"),
            "{} holds a secret key",
            f.display()
        );
    }

    // Each identity opens it alone with the age CLI; the laptop's key restores it.
    for id in [&laptop_id, &extra_id] {
        let key = local.path().join("key.txt");
        std::fs::write(&key, id).unwrap();
        let plain = run_ok(Command::new("age").arg("-d").arg("-i").arg(&key).arg(&file));
        // Inside: the archive in the server's default compression, zstd.
        assert_eq!(&plain[..4], &offsite_core::archive::codec::ZSTD_MAGIC);
    }
    let pg = TestCluster::shared();
    let dst = pg.unique_db("agent_enc_dst");
    let mut restore = Command::new(env!("CARGO_BIN_EXE_offsite"));
    restore
        .arg("--json")
        .arg("--data-dir")
        .arg(local.path().join("laptop"))
        .arg("restore")
        .arg(&file)
        .arg("--to")
        .arg(pg.url(&dst))
        .args(["--yes", "--key-stdin"])
        .env("OFFSITE_SECRET_STORE", "env")
        .env("PGPASSWORD", pg.superuser_password())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = restore.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(laptop_id.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM orders"), "700");
}
