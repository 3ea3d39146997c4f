//! A TCP fault proxy on 127.0.0.1 in front of a real server (the throwaway PostgreSQL): it
//! forwards bytes both ways, and on request drops the next N connections at once (the client
//! sees its connection closed before the server answered) or cuts connections after they have
//! carried N bytes from the server (a connection lost mid-dump).
//!
//! Plain threads, no runtime: it works under any test harness and is stopped by dropping it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

#[derive(Debug, Default)]
struct State {
    stop: AtomicBool,
    /// Connections to drop at once.
    refuse: AtomicU32,
    /// Connections still to cut once they carried `cut_after` bytes from the server.
    cut: AtomicU32,
    cut_after: AtomicU64,
    /// Cut the next connection whose answer from the server holds these bytes (before any of
    /// that answer reaches the client).
    cut_on: std::sync::Mutex<Option<Vec<u8>>>,
    accepted: AtomicU32,
    refused: AtomicU32,
    cuts_done: AtomicU32,
}

/// The proxy; dropping it stops accepting (open connections end with their peers).
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
}

impl FaultProxy {
    /// Listen on 127.0.0.1 (a free port) and forward to `upstream`.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("testkit: bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State::default());
        let st = state.clone();
        thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if st.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = conn else { continue };
                    st.accepted.fetch_add(1, Ordering::SeqCst);
                    if take(&st.refuse) {
                        st.refused.fetch_add(1, Ordering::SeqCst);
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                    let st = st.clone();
                    thread::spawn(move || serve(client, upstream, st));
                }
            })
            .expect("spawn the fault proxy");
        FaultProxy { addr, state }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Drop the next `n` connections as soon as they are accepted.
    pub fn refuse_next(&self, n: u32) {
        self.state.refuse.store(n, Ordering::SeqCst);
    }
    /// Cut the next `n` connections that carry more than `after_bytes` bytes from the server.
    pub fn cut_next(&self, n: u32, after_bytes: u64) {
        self.state.cut_after.store(after_bytes, Ordering::SeqCst);
        self.state.cut.store(n, Ordering::SeqCst);
    }
    /// Cut the next connection whose bytes from the server hold `pattern` (say, a PostgreSQL
    /// `COMMIT` command's completion: the server has committed, the client never learns it).
    /// None of the read holding it is passed on.
    pub fn cut_next_on(&self, pattern: &[u8]) {
        *self.state.cut_on.lock().unwrap() = Some(pattern.to_vec());
    }
    /// Connections accepted so far (refused ones included).
    pub fn accepted(&self) -> u32 {
        self.state.accepted.load(Ordering::SeqCst)
    }
    pub fn refused(&self) -> u32 {
        self.state.refused.load(Ordering::SeqCst)
    }
    /// Connections cut midway so far.
    pub fn cuts(&self) -> u32 {
        self.state.cuts_done.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

/// Decrement `counter` if positive; true when it was.
fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn serve(client: TcpStream, upstream: SocketAddr, st: Arc<State>) {
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (c2, s2) = match (client.try_clone(), server.try_clone()) {
        (Ok(c), Ok(s)) => (c, s),
        _ => return,
    };
    // client → server: plain copy.
    let up = thread::spawn(move || {
        let (mut from, mut to) = (c2, s2);
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
    // server → client: counted; cut when this connection's turn comes.
    let (mut from, mut to) = (server, client);
    let mut buf = vec![0u8; 16 * 1024];
    let mut carried = 0u64;
    let mut armed = true;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        carried += n as u64;
        if cut_on_pattern(&st, &buf[..n]) {
            st.cuts_done.fetch_add(1, Ordering::SeqCst);
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
            break;
        }
        if armed
            && carried > st.cut_after.load(Ordering::SeqCst)
            && st.cut.load(Ordering::SeqCst) > 0
        {
            if take(&st.cut) {
                st.cuts_done.fetch_add(1, Ordering::SeqCst);
                let keep =
                    n - (carried - st.cut_after.load(Ordering::SeqCst)).min(n as u64) as usize;
                let _ = to.write_all(&buf[..keep]);
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                break;
            }
            armed = false;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = up.join();
}

/// Whether `chunk` holds the pattern a cut waits for (taken: one cut per pattern set).
fn cut_on_pattern(st: &State, chunk: &[u8]) -> bool {
    let mut on = st.cut_on.lock().unwrap_or_else(|p| p.into_inner());
    let hit = on
        .as_deref()
        .is_some_and(|p| !p.is_empty() && chunk.windows(p.len()).any(|w| w == p));
    if hit {
        *on = None;
    }
    hit
}
