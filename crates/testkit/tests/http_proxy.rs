//! The fault proxy's own behaviour that other tests rely on, against the real file server.

use offsite_testkit::{FileServer, HttpFault, HttpFaultProxy};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const SIZE: usize = 1024 * 1024;

/// One request on a connection of its own; the whole answer, head and body.
fn fetch(addr: SocketAddr, range: Option<&str>) -> Vec<u8> {
    let mut c = TcpStream::connect(addr).unwrap();
    let range = range.map(|r| format!("Range: {r}\r\n")).unwrap_or_default();
    write!(
        c,
        "GET /files/f.bin HTTP/1.1\r\nHost: x\r\n{range}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    c.read_to_end(&mut answer).unwrap();
    answer
}

fn wait_until(what: &str, t0: Instant, mut f: impl FnMut() -> bool) {
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(10), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The proxy lists exchanges in the order their requests arrived, not the order they ended:
/// tests index them (`ex[1]` is the retry), and a cut answer can end after the retry that
/// followed it began (seen under load in transfer's `etag_change_behind_a_range…`).
#[test]
fn exchanges_come_in_the_order_their_requests_arrived() {
    let server = FileServer::start();
    server.put("f.bin", &vec![7u8; SIZE]);
    let proxy = HttpFaultProxy::start(server.addr());
    // The first request's answer drips (a pause after every 64 KiB piece: about 0.5 s).
    proxy.inject(
        Some("GET"),
        HttpFault::Drip {
            chunk: 256 * 1024,
            pause_ms: 30,
        },
        1,
    );
    let addr = proxy.addr();
    let slow = std::thread::spawn(move || fetch(addr, None));
    let t0 = Instant::now();
    wait_until("the proxy saw the first request", t0, || {
        proxy.requests() >= 1
    });
    // A second request, sent while the first drips, ends first.
    let fast = fetch(addr, Some("bytes=0-9"));
    assert!(
        fast.starts_with(b"HTTP/1.1 206"),
        "{:?}",
        String::from_utf8_lossy(&fast[..40.min(fast.len())])
    );
    wait_until("the second exchange was recorded", t0, || {
        !proxy.exchanges().is_empty()
    });
    assert!(
        !slow.is_finished(),
        "the first answer should still be dripping"
    );
    assert!(
        slow.join().unwrap().len() > SIZE,
        "the whole file and a head"
    );
    // The client has the whole answer before the proxy's thread records the exchange (under
    // load that record can come a moment later): wait for it rather than race it.
    wait_until("the first exchange was recorded", t0, || {
        proxy.exchanges().len() >= 2
    });
    let ex = proxy.exchanges();
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].range, None, "the first request first: {ex:?}");
    assert_eq!(ex[1].range.as_deref(), Some("bytes=0-9"));
}
