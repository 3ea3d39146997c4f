//! Running the agent: open it, pick TLS (given certificate, else self-signed; plain HTTP only
//! when asked), bind, announce, serve until cancelled.

use crate::config::AgentConfig;
use crate::limits::{Conns, LimitAcceptor, Limits};
use crate::state::Agent;
use crate::tls;
use offsite_core::{Error, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// What a started agent announces.
#[derive(Debug, Clone)]
pub struct ServeInfo {
    /// The address bound (the real port when the configuration said 0).
    pub addr: SocketAddr,
    /// `https://ADDR` (or `http://` with `insecure_http`).
    pub url: String,
    /// `SHA256:AB:CD:…` of the certificate served (`None` over plain HTTP).
    pub fingerprint: Option<String>,
}

/// The certificate and key files the agent serves with (making the self-signed pair when none
/// is configured and there is none yet).
pub fn certificate_files(config: &AgentConfig) -> Result<(PathBuf, PathBuf)> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(c), Some(k)) => Ok((c.clone(), k.clone())),
        _ => {
            crate::files::create_private_dir(&config.data_dir)?;
            tls::ensure_self_signed(&config.data_dir)
        }
    }
}

/// The fingerprint of the certificate the agent serves (`offsite serve fingerprint`).
pub fn fingerprint(config: &AgentConfig) -> Result<String> {
    tls::fingerprint_of_file(&certificate_files(config)?.0)
}

/// Serve until `cancel`; `ready` is called once the socket is bound.
pub async fn serve(
    config: AgentConfig,
    cancel: CancellationToken,
    ready: impl FnOnce(&ServeInfo),
) -> Result<()> {
    let insecure = config.insecure_http;
    let tls_files = if insecure {
        None
    } else {
        Some(certificate_files(&config)?)
    };
    let listen = config.listen;
    let agent = Agent::open(config, !insecure).await?;
    // What a killed run left behind (temporary archive names) goes first.
    if let Err(e) = agent.engine.sweep_temp_files().await {
        tracing::warn!("sweeping temporary files: {}", e.message());
    }
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| Error::io(format!("listening on {listen}"), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("setting up the socket", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("reading the bound address", e))?;
    tokio::spawn(crate::schedule::run_schedules(
        agent.clone(),
        cancel.clone(),
    ));
    tokio::spawn(crate::capture::run_capture(agent.clone(), cancel.clone()));
    let app = crate::api::router(agent.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    {
        let handle = handle.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            cancel.cancelled().await;
            handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        });
    }
    let limits = agent.config.limits();
    let acceptor = LimitAcceptor::new(Conns::new(limits));
    match tls_files {
        Some((cert, key)) => {
            let rustls = tls::server_config(&cert, &key)?;
            let info = ServeInfo {
                addr,
                url: format!("https://{addr}"),
                fingerprint: Some(tls::fingerprint_of_file(&cert)?),
            };
            ready(&info);
            let tls_acceptor = axum_server::tls_rustls::RustlsAcceptor::new(
                axum_server::tls_rustls::RustlsConfig::from_config(rustls),
            )
            .handshake_timeout(limits.header_read_timeout)
            .acceptor(acceptor);
            let mut server = axum_server::from_tcp(listener).acceptor(tls_acceptor);
            http1_limits(server.http_builder(), &limits);
            server.handle(handle).serve(app).await
        }
        None => {
            ready(&ServeInfo {
                addr,
                url: format!("http://{addr}"),
                fingerprint: None,
            });
            let mut server = axum_server::from_tcp(listener).acceptor(acceptor);
            http1_limits(server.http_builder(), &limits);
            server.handle(handle).serve(app).await
        }
    }
    .map_err(|e| Error::io("serving", e))?;
    // Stopped: running backups are cancelled (they remove what they wrote and record the
    // cancel); wait for them a little.
    agent.shutdown.cancel();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while agent.running_count() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Largest request head (request line and headers): larger ones are answered 431.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// hyper's own header-read timeout (it needs a timer) and the size of a request head.
fn http1_limits(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    limits: &Limits,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(100);
}
