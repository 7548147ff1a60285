//! Health probes over the daemons' own HTTP endpoints (JMX servlet, YARN REST), from this
//! machine. A plain HTTP/1.0 GET is all they need; every call has a timeout.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// A TCP connection with connect, read and write timeouts.
pub fn connect(addr: &str, timeout: Duration) -> Result<TcpStream> {
    let sa: SocketAddr = addr
        .to_socket_addrs()
        .with_context(|| format!("bad address {addr}"))?
        .next()
        .ok_or_else(|| anyhow!("bad address {addr}"))?;
    let s = TcpStream::connect_timeout(&sa, timeout)
        .with_context(|| format!("cannot connect to {addr}"))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    Ok(s)
}

/// Reads until `want` bytes (or, with `None`, until the peer closes), at most `cap` bytes, all
/// before `deadline`: a peer that trickles one byte just inside each read timeout cannot hold
/// a probe for longer, nor make it allocate more than it really sent.
pub fn read_until(
    s: &mut TcpStream,
    want: Option<usize>,
    cap: usize,
    deadline: Instant,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if want.is_some_and(|w| out.len() >= w) {
            return Ok(out);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("timed out after {} bytes", out.len());
        }
        s.set_read_timeout(Some(left))?;
        let room = want.unwrap_or(cap).min(cap).saturating_sub(out.len());
        if room == 0 {
            bail!("answer larger than {cap} bytes");
        }
        let take = room.min(chunk.len());
        let n = match s.read(&mut chunk[..take]) {
            Ok(n) => n,
            // The socket's read timeout is the deadline: say so, whatever the OS calls it.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                bail!("timed out after {} bytes", out.len())
            }
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            if want.is_some() {
                bail!("connection closed after {} bytes", out.len());
            }
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

pub fn http_get(addr: &str, path: &str, timeout: Duration) -> Result<String> {
    let deadline = Instant::now() + timeout * 2;
    let mut s = connect(addr, timeout)?;
    let req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
    // One write, one segment: some servers read the request line from the first packet.
    s.write_all(req.as_bytes())?;
    let raw = read_until(&mut s, None, 8 << 20, deadline)
        .with_context(|| format!("reading http://{addr}{path}"))?;
    parse_http(&raw).map_err(|e| anyhow!("http://{addr}{path}: {e}"))
}

/// The body of an HTTP answer whose status is 200 (fuzzed: tests/fuzz.rs).
pub fn parse_http(raw: &[u8]) -> Result<String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("no HTTP response"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        bail!("HTTP {status}");
    }
    Ok(body.to_string())
}

/// The first bean of a `/jmx?qry=...` answer, parsed (fuzzed: tests/fuzz.rs).
pub fn first_bean(v: &serde_json::Value) -> Option<serde_json::Value> {
    v["beans"].as_array().and_then(|b| b.first()).cloned()
}

/// The first bean of a `/jmx?qry=...` answer.
pub fn jmx_bean(addr: &str, query: &str, timeout: Duration) -> Result<serde_json::Value> {
    let body = http_get(addr, &format!("/jmx?qry={query}"), timeout)?;
    let v: serde_json::Value =
        serde_json::from_str(&body).with_context(|| format!("{addr}: JMX answer is not JSON"))?;
    first_bean(&v).ok_or_else(|| anyhow!("{addr}: no JMX bean {query} yet"))
}

pub fn json_get(addr: &str, path: &str, timeout: Duration) -> Result<serde_json::Value> {
    let body = http_get(addr, path, timeout)?;
    serde_json::from_str(&body).with_context(|| format!("http://{addr}{path}: not JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn reads_a_json_bean_from_a_real_socket() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = c.read(&mut buf).unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with(
                "GET /jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState HTTP/1.0"
            ));
            c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"beans\":[{\"NumLiveDataNodes\":3}]}").unwrap();
        });
        let bean = jmx_bean(
            &addr,
            "Hadoop:service=NameNode,name=FSNamesystemState",
            Duration::from_secs(2),
        )
        .unwrap();
        assert_eq!(bean["NumLiveDataNodes"], 3);
        t.join().unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf).unwrap();
            c.write_all(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")
                .unwrap();
        });
        assert!(http_get(&addr, "/", Duration::from_secs(2))
            .unwrap_err()
            .to_string()
            .contains("HTTP 503"));
        t.join().unwrap();
    }

    #[test]
    fn a_trickling_or_endless_peer_cannot_hold_a_probe() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            // First peer: one byte every 100 ms, for 3 s at most.
            let (mut c, _) = l.accept().unwrap();
            for _ in 0..30 {
                if c.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // Second peer: an endless stream, bounded to 4 MiB here.
            let (mut c, _) = l.accept().unwrap();
            let block = [b'y'; 64 * 1024];
            for _ in 0..64 {
                if c.write_all(&block).is_err() {
                    break;
                }
            }
        });
        let t0 = Instant::now();
        let mut s = connect(&addr, Duration::from_secs(1)).unwrap();
        let e = read_until(
            &mut s,
            None,
            1 << 20,
            Instant::now() + Duration::from_millis(500),
        );
        assert!(e.unwrap_err().to_string().contains("timed out"));
        // The peer would trickle for 3 s; the deadline ends it well before.
        assert!(
            t0.elapsed() < Duration::from_millis(2500),
            "{:?}",
            t0.elapsed()
        );
        drop(s);
        let mut s = connect(&addr, Duration::from_secs(1)).unwrap();
        let e = read_until(
            &mut s,
            None,
            256 * 1024,
            Instant::now() + Duration::from_secs(5),
        );
        assert!(e.unwrap_err().to_string().contains("larger than"));
        drop(s);
        server.join().unwrap();
    }
}
