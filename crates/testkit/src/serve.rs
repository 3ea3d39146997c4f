//! The HTTP/1 serve loop the fake servers share: a free loopback port, its own thread and tokio
//! runtime, each request answered by the server's handler, until the stop sender is sent to or
//! dropped.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Serves `handler` on `127.0.0.1:0` in a thread named `name` with a runtime of `threads`
/// workers (1: a current-thread runtime). Returns the address and the stop sender.
pub(crate) fn serve_http<H, F>(
    name: &str,
    threads: usize,
    handler: H,
) -> (SocketAddr, oneshot::Sender<()>)
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("testkit: bind the {name}: {e}"));
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("listener address");
    let (stop, mut stopped) = oneshot::channel::<()>();
    let handler = Arc::new(handler);
    let runtime = format!("{name} runtime");
    std::thread::Builder::new()
        .name(name.replace(' ', "-").to_lowercase())
        .spawn(move || {
            let rt = if threads > 1 {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            }
            .expect(&runtime);
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                loop {
                    let conn = tokio::select! {
                        c = listener.accept() => c,
                        _ = &mut stopped => break,
                    };
                    let Ok((stream, _)) = conn else { continue };
                    let handler = handler.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| {
                            let answer = handler(req);
                            async move { Ok::<_, Infallible>(answer.await) }
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })
        .unwrap_or_else(|e| panic!("testkit: spawn the {name}: {e}"));
    (addr, stop)
}
