//! The agent's own backup, for `offsite-bench --agent`: `offsite serve` runs next to the bench's
//! cluster (plain HTTP on 127.0.0.1, its own data folder), a token is made with `offsite serve
//! token create`, and each run is timed from the `POST …/backups` to the moment the status says
//! `COMPLETED` (polled every 50 ms through Offsite's own client), and by the agent's own record
//! of the job (started → finished, what the verdict uses: no polling in it).

use offsite_core::sources::agent::AgentClient;
use offsite_testkit::TestCluster;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable the agent reads the database password from (its config names it).
const PASSWORD_ENV: &str = "OFFSITE_BENCH_AGENT_PGPASSWORD";

pub struct BenchAgent {
    child: Child,
    client: AgentClient,
    rt: tokio::runtime::Runtime,
}

impl Drop for BenchAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One backup made by the agent.
pub struct AgentRun {
    /// From the request to seeing `COMPLETED` (includes up to one 50 ms poll).
    pub secs: f64,
    /// The agent's own record of its job: started → finished.
    pub job_secs: f64,
    pub size: u64,
}

fn secs_between(from: &str, to: &str) -> Option<f64> {
    let parse = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    };
    Some((parse(to)? - parse(from)?).as_seconds_f64())
}

impl BenchAgent {
    /// Start `bin serve` in `dir` for `db_url` (project `bench`).
    pub fn start(bin: &Path, pg: &TestCluster, db_url: &str, dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config = dir.join("agent.toml");
        let data_dir = dir.join("data");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:0\"\ndata_dir = {data:?}\npg_bin = {bin_dir:?}\n\n\
                 [projects.bench]\ndatabase_url = {db_url:?}\npassword_env = \"{PASSWORD_ENV}\"\n",
                data = data_dir,
                bin_dir = pg.bin_dir(),
            ),
        )
        .map_err(|e| format!("writing the agent's config: {e}"))?;
        let token = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .args(["token", "create", "--project", "bench"])
            .env_remove("OFFSITE_DATA_DIR")
            .output()
            .map_err(|e| format!("offsite serve token create: {e}"))?;
        if !token.status.success() {
            return Err(format!(
                "offsite serve token create: {}",
                String::from_utf8_lossy(&token.stderr)
            ));
        }
        let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
        let log = std::fs::File::create(dir.join("agent.log"))
            .map_err(|e| format!("creating the agent's log: {e}"))?;
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--insecure-http")
            .env_remove("OFFSITE_DATA_DIR")
            .env_remove("PGPASSWORD")
            .env(PASSWORD_ENV, pg.superuser_password())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting offsite serve: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(u) = line.strip_prefix("offsite agent listening on ") {
                        break u.trim().to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "offsite serve did not start: {}",
                        std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default()
                    ));
                }
            }
        };
        let mut client = AgentClient::new(&url, "bench", &token, None, false)
            .map_err(|e| format!("the agent's client: {e}"))?;
        client.poll_interval = Duration::from_millis(50);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio: {e}"))?;
        Ok(BenchAgent { child, client, rt })
    }

    /// One database backup on the agent, timed from the request to `COMPLETED`.
    pub fn backup(&self) -> Result<AgentRun, String> {
        self.rt.block_on(async {
            let t = Instant::now();
            let created = self
                .client
                .start_backup("DATABASE", &[], None)
                .await
                .map_err(|e| format!("starting the agent's backup: {e}"))?;
            loop {
                let b = self
                    .client
                    .backup(&created.backup_id)
                    .await
                    .map_err(|e| format!("the agent's backup status: {e}"))?;
                if b.is_completed() {
                    let secs = t.elapsed().as_secs_f64();
                    let job_secs = b
                        .completed_at
                        .as_deref()
                        .and_then(|c| secs_between(&b.created_at, c))
                        .ok_or_else(|| {
                            format!(
                                "the agent's backup has no usable times: {} → {:?}",
                                b.created_at, b.completed_at
                            )
                        })?;
                    return Ok(AgentRun {
                        secs,
                        job_secs,
                        size: b.size.unwrap_or_default(),
                    });
                }
                if b.is_failed() {
                    return Err(format!("the agent's backup failed: {:?}", b.error));
                }
                tokio::time::sleep(self.client.poll_interval).await;
            }
        })
    }
}
