//! `alfred healthcheck`: whether the Alfred serving on this machine is alive, for a container's
//! `HEALTHCHECK` (the image has no curl) and for scripts.
//!
//! It asks `GET /healthz` on the public listener (`HTTP_ADDR`; an address on all interfaces
//! means this machine's loopback) over plain HTTP/1.1 and succeeds only on `200`. It reads no
//! other setting and starts nothing, so it works in any container where Alfred runs, and a
//! configuration problem of the server cannot make it hang.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Asks `GET /healthz` at `addr` and explains any answer but `200`.
pub fn check(addr: &str, timeout: Duration) -> Result<(), String> {
    let target = resolve(addr)?;
    let mut stream = TcpStream::connect_timeout(&target, timeout)
        .map_err(|error| format!("nothing answers at {target}: {error}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|error| format!("cannot set a time-out: {error}"))?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|error| format!("cannot ask {target}: {error}"))?;
    // The status line is all that matters; the body is a few bytes.
    let mut answer = Vec::with_capacity(256);
    stream
        .take(4096)
        .read_to_end(&mut answer)
        .map_err(|error| format!("no answer from {target}: {error}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    match status.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        Some(code) => Err(format!("{target}/healthz answered {code}")),
        None => Err(format!("{target}/healthz did not answer HTTP")),
    }
}

/// `HTTP_ADDR` as something to connect to: an unspecified address (`0.0.0.0`, `::`) means this
/// machine's loopback.
fn resolve(addr: &str) -> Result<SocketAddr, String> {
    let mut target = addr
        .to_socket_addrs()
        .map_err(|error| format!("HTTP_ADDR {addr:?} is not an address: {error}"))?
        .next()
        .ok_or_else(|| format!("HTTP_ADDR {addr:?} resolves to no address"))?;
    if target.ip().is_unspecified() {
        target.set_ip(match target.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(target)
}
