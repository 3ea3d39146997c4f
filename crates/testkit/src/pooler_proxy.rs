//! A pooler-like proxy on 127.0.0.1 in front of a real PostgreSQL: it passes every byte through
//! except a simple Query message that starts with `SET TRANSACTION SNAPSHOT`, which it answers
//! itself with an ErrorResponse (SQLSTATE 0A000, "SET TRANSACTION SNAPSHOT is not supported by
//! this pooler") and ReadyForQuery — as a transaction pooler (Supabase's port 6543, PgBouncer in
//! transaction mode) makes a shared snapshot impossible. Clients must connect with
//! `sslmode=disable` (the proxy reads the protocol in the clear).
//!
//! Plain threads, no runtime; dropping it stops accepting.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// The refused statement.
pub const REFUSED_PREFIX: &str = "SET TRANSACTION SNAPSHOT";
/// The error text the proxy answers with.
pub const REFUSAL_MESSAGE: &str = "SET TRANSACTION SNAPSHOT is not supported by this pooler";

#[derive(Debug, Default)]
struct State {
    stop: AtomicBool,
    refused: AtomicU32,
    accepted: AtomicU32,
}

/// The proxy.
#[derive(Debug)]
pub struct PoolerProxy {
    addr: SocketAddr,
    state: Arc<State>,
}

impl PoolerProxy {
    /// Listen on 127.0.0.1 (a free port) and forward to `upstream`.
    pub fn start(upstream: SocketAddr) -> PoolerProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("testkit: bind the pooler proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State::default());
        let st = state.clone();
        thread::Builder::new()
            .name("pooler-proxy".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if st.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = conn else { continue };
                    st.accepted.fetch_add(1, Ordering::SeqCst);
                    let st = st.clone();
                    thread::spawn(move || {
                        let _ = serve(client, upstream, &st);
                    });
                }
            })
            .expect("spawn the pooler proxy");
        PoolerProxy { addr, state }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `SET TRANSACTION SNAPSHOT` statements refused so far.
    pub fn refused(&self) -> u32 {
        self.state.refused.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u32 {
        self.state.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for PoolerProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Startup-phase requests answered by one byte (SSLRequest, GSSENCRequest).
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
/// No message of the tests is larger.
const MAX_MESSAGE: usize = 64 << 20;

fn serve(client: TcpStream, upstream: SocketAddr, st: &State) -> io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    let to_client = Arc::new(Mutex::new(client.try_clone()?));
    {
        // Server → client: raw bytes, under the lock the injected answers take too.
        let (mut from_server, to_client) = (server.try_clone()?, to_client.clone());
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 << 10];
            loop {
                match from_server.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let c = to_client.lock().unwrap();
                        if (&*c).write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = to_client.lock().unwrap().shutdown(Shutdown::Write);
        });
    }
    let (mut from_client, mut to_server) = (client, server);
    let result = client_to_server(&mut from_client, &mut to_server, &to_client, st);
    let _ = to_server.shutdown(Shutdown::Write);
    result
}

fn client_to_server(
    from_client: &mut TcpStream,
    to_server: &mut TcpStream,
    to_client: &Mutex<TcpStream>,
    st: &State,
) -> io::Result<()> {
    // Startup: untyped, length-prefixed messages until the StartupMessage proper.
    loop {
        let mut len = [0u8; 4];
        from_client.read_exact(&mut len)?;
        let n = u32::from_be_bytes(len) as usize;
        if !(8..=MAX_MESSAGE).contains(&n) {
            return Err(io::Error::other("bad startup message"));
        }
        let mut body = vec![0u8; n - 4];
        from_client.read_exact(&mut body)?;
        to_server.write_all(&len)?;
        to_server.write_all(&body)?;
        let code = u32::from_be_bytes(body[..4].try_into().unwrap());
        if code != SSL_REQUEST && code != GSSENC_REQUEST {
            break;
        }
    }
    loop {
        let mut head = [0u8; 5];
        from_client.read_exact(&mut head)?;
        let n = u32::from_be_bytes(head[1..].try_into().unwrap()) as usize;
        if !(4..=MAX_MESSAGE).contains(&n) {
            return Err(io::Error::other("bad message length"));
        }
        let mut body = vec![0u8; n - 4];
        from_client.read_exact(&mut body)?;
        if head[0] == b'Q' && refused(&body) {
            st.refused.fetch_add(1, Ordering::SeqCst);
            let c = to_client.lock().unwrap();
            (&*c).write_all(&refusal())?;
            continue;
        }
        to_server.write_all(&head)?;
        to_server.write_all(&body)?;
    }
}

fn refused(query: &[u8]) -> bool {
    let text = String::from_utf8_lossy(query);
    text.trim_start()
        .to_ascii_uppercase()
        .starts_with(REFUSED_PREFIX)
}

/// ErrorResponse (ERROR, 0A000, the message) then ReadyForQuery (in a failed transaction).
fn refusal() -> Vec<u8> {
    let mut fields = Vec::new();
    for (code, value) in [
        (b'S', "ERROR"),
        (b'V', "ERROR"),
        (b'C', "0A000"),
        (b'M', REFUSAL_MESSAGE),
    ] {
        fields.push(code);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&fields);
    out.extend_from_slice(&[b'Z', 0, 0, 0, 5, b'E']);
    out
}
