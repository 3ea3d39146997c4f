//! Connection limits: no client can hold the agent's connections for free.
//!
//! * **Header-read timeout**: a connection must deliver a request's headers within
//!   `header_read_timeout` of its start (the TLS handshake included) or of the end of the
//!   previous response; an idle kept-alive connection is closed after the same time.
//! * **Idle timeout**: while a request is in flight, a connection on which nothing moves for
//!   `idle_timeout` (a body that stalls, a download the client stopped reading) is closed.
//! * **Connection cap**: at most `max_connections` at once. When the cap is reached, a new
//!   connection takes the place of the one that has waited longest for its request's headers
//!   (that one is closed); when every connection is serving a request, the new one is closed at
//!   once. Slow or idle clients therefore cannot lock out a prompt one (`/healthz` keeps
//!   answering).
//!
//! The agent's acceptor ([`LimitAcceptor`]) wraps each accepted TCP stream in [`Tracked`] (the
//! timers, and closing on eviction) and each connection's service in [`WithConn`] (which marks
//! the connection busy from a request's headers to the end of its response body).

use axum::http::{Request, Response};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// The limits of the agent's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// One live connection.
#[derive(Debug)]
pub struct ConnState {
    /// Requests being answered on it (headers read, response body not finished).
    busy: AtomicUsize,
    /// Since when (ms after the table's start) it waits for a request's headers.
    waiting_since_ms: AtomicU64,
    /// Cancelled to close it (evicted for a newer connection).
    evict: CancellationToken,
}

/// The live connections.
pub struct Conns {
    limits: Limits,
    start: Instant,
    table: Mutex<HashMap<u64, Arc<ConnState>>>,
    next_id: AtomicU64,
    refused: AtomicU64,
    evicted: AtomicU64,
}

impl Conns {
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Conns {
            limits,
            start: Instant::now(),
            table: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// How many connections are open now.
    pub fn open(&self) -> usize {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Admit a new connection: its id and state, or `None` (closed at once: every connection
    /// is serving a request).
    fn admit(&self) -> Option<(u64, Arc<ConnState>)> {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if table.len() >= self.limits.max_connections {
            // The connection that has waited longest for its headers makes room.
            let victim = table
                .iter()
                .filter(|(_, c)| c.busy.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, c)| c.waiting_since_ms.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            match victim {
                Some(id) => {
                    if let Some(c) = table.remove(&id) {
                        c.evict.cancel();
                    }
                    let n = self.evicted.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        tracing::warn!(
                            max = self.limits.max_connections,
                            "connection cap reached: closed the connection waiting longest ({n} so far)"
                        );
                    }
                }
                None => {
                    let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        tracing::warn!(
                            max = self.limits.max_connections,
                            "connection cap reached and every connection busy: refused a connection ({n} so far)"
                        );
                    }
                    return None;
                }
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnState {
            busy: AtomicUsize::new(0),
            waiting_since_ms: AtomicU64::new(self.now_ms()),
            evict: CancellationToken::new(),
        });
        table.insert(id, state.clone());
        Some((id, state))
    }

    fn remove(&self, id: u64) {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

/// The acceptor: admits (or refuses) each TCP connection and wraps its stream and service.
#[derive(Clone)]
pub struct LimitAcceptor {
    conns: Arc<Conns>,
}

impl LimitAcceptor {
    pub fn new(conns: Arc<Conns>) -> Self {
        LimitAcceptor { conns }
    }
}

impl<I, S> axum_server::accept::Accept<I, S> for LimitAcceptor
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    type Stream = Tracked<I>;
    type Service = WithConn<S>;
    type Future = std::future::Ready<io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        std::future::ready(match self.conns.admit() {
            Some((id, state)) => Ok((
                Tracked::new(stream, id, state.clone(), self.conns.clone()),
                WithConn {
                    inner: service,
                    state,
                    conns: self.conns.clone(),
                },
            )),
            None => Err(io::Error::other("too many connections")),
        })
    }
}

/// An accepted stream with the connection's timers; it fails (and the connection closes) when
/// a timer runs out or the connection is evicted.
pub struct Tracked<I> {
    io: I,
    id: u64,
    state: Arc<ConnState>,
    conns: Arc<Conns>,
    evicted: Pin<Box<WaitForCancellationFutureOwned>>,
    timer: Pin<Box<Sleep>>,
    last_activity: Instant,
}

impl<I> Tracked<I> {
    fn new(io: I, id: u64, state: Arc<ConnState>, conns: Arc<Conns>) -> Self {
        let evicted = Box::pin(state.evict.clone().cancelled_owned());
        let now = Instant::now();
        Tracked {
            io,
            id,
            state,
            evicted,
            timer: Box::pin(tokio::time::sleep_until(
                now + conns.limits.header_read_timeout,
            )),
            conns,
            last_activity: now,
        }
    }

    /// The deadline in force now: the headers' while waiting for a request, else inactivity.
    fn deadline(&self) -> Instant {
        if self.state.busy.load(Ordering::Acquire) == 0 {
            let since = self.state.waiting_since_ms.load(Ordering::Relaxed);
            self.conns.start + Duration::from_millis(since) + self.conns.limits.header_read_timeout
        } else {
            self.last_activity + self.conns.limits.idle_timeout
        }
    }

    /// Before an operation: closed when evicted.
    fn check_evicted(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.evicted.as_mut().poll(cx).is_ready() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed for a newer connection (connection cap)",
            ));
        }
        Ok(())
    }

    /// After an operation: note progress, or fail when the deadline in force has passed.
    fn after<T>(
        &mut self,
        cx: &mut Context<'_>,
        res: Poll<io::Result<T>>,
        moved: bool,
    ) -> Poll<io::Result<T>> {
        match res {
            Poll::Ready(r) => {
                if moved {
                    self.last_activity = Instant::now();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                let deadline = self.deadline();
                if self.timer.deadline() != deadline {
                    self.timer.as_mut().reset(deadline);
                }
                if self.timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client was too slow (connection timeout)",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<I> Drop for Tracked<I> {
    fn drop(&mut self) {
        self.conns.remove(self.id);
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.check_evicted(cx)?;
        let before = buf.filled().len();
        let res = Pin::new(&mut this.io).poll_read(cx, buf);
        let moved = buf.filled().len() > before;
        this.after(cx, res, moved)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.check_evicted(cx)?;
        let res = Pin::new(&mut this.io).poll_write(cx, buf);
        let moved = matches!(res, Poll::Ready(Ok(n)) if n > 0);
        this.after(cx, res, moved)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.check_evicted(cx)?;
        let res = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        let moved = matches!(res, Poll::Ready(Ok(n)) if n > 0);
        this.after(cx, res, moved)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.check_evicted(cx)?;
        let res = Pin::new(&mut this.io).poll_flush(cx);
        this.after(cx, res, false)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A connection's service: marks the connection busy while a request is answered.
#[derive(Clone)]
pub struct WithConn<S> {
    inner: S,
    state: Arc<ConnState>,
    conns: Arc<Conns>,
}

/// Holds a connection busy; dropped with the response body (or a failed response).
pub struct BusyGuard {
    state: Arc<ConnState>,
    conns: Arc<Conns>,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.state
            .waiting_since_ms
            .store(self.conns.now_ms(), Ordering::Relaxed);
        self.state.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S, B, ReqB> tower_service::Service<Request<ReqB>> for WithConn<S>
where
    S: tower_service::Service<Request<ReqB>, Response = Response<B>>,
    S::Future: Send + 'static,
    B: http_body::Body + Unpin,
{
    type Response = Response<GuardedBody<B>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        self.state.busy.fetch_add(1, Ordering::AcqRel);
        let guard = BusyGuard {
            state: self.state.clone(),
            conns: self.conns.clone(),
        };
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            Ok(res.map(|inner| GuardedBody {
                inner,
                _guard: guard,
            }))
        })
    }
}

/// A response body holding its connection busy until it is done.
pub struct GuardedBody<B> {
    inner: B,
    _guard: BusyGuard,
}

impl<B: http_body::Body + Unpin> http_body::Body for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conns(max: usize) -> Arc<Conns> {
        Conns::new(Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: max,
        })
    }

    #[tokio::test]
    async fn at_the_cap_the_longest_waiting_idle_connection_makes_room() {
        let c = conns(2);
        let (a, sa) = c.admit().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (_b, sb) = c.admit().unwrap();
        // Both idle: the third evicts the first.
        let (_c3, _) = c.admit().unwrap();
        assert!(sa.evict.is_cancelled() && !sb.evict.is_cancelled());
        assert_eq!(c.open(), 2);
        c.remove(a);
        // Every connection busy: a new one is refused.
        let busy: Vec<_> = c
            .table
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect::<Vec<_>>();
        for s in &busy {
            s.busy.fetch_add(1, Ordering::AcqRel);
        }
        assert!(c.admit().is_none());
        assert_eq!(c.open(), 2);
    }
}
