//! Loopback ports for test servers: one that is free now (for a server to bind next) and one
//! that refuses for as long as a test holds it.

use std::net::{Ipv4Addr, TcpListener};

/// A loopback port that refuses connections for as long as this lives: bound but never
/// listening, so no other test in the same binary can take it in the meantime (a port merely
/// released, as [`free_port`] returns, can be — and in CI once was).
pub struct ClosedPort {
    _socket: socket2::Socket,
    port: u16,
}

impl ClosedPort {
    pub fn new() -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a TCP socket");
        socket
            .bind(&std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .expect("bind 127.0.0.1:0");
        let port = socket
            .local_addr()
            .expect("local addr")
            .as_socket()
            .expect("an IP address")
            .port();
        ClosedPort {
            _socket: socket,
            port,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A loopback port nothing listens on now (released before it is returned: for a server to
/// bind next; a test that needs refusals holds a [`ClosedPort`] instead).
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}
