//! Health probes over the daemons' own HTTP endpoints (JMX servlet, YARN REST), from this
//! machine. A plain HTTP/1.0 GET is all they need; every call has a timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

pub fn http_get(addr: &str, path: &str, timeout: Duration) -> Result<String> {
    let sa: SocketAddr = addr
        .to_socket_addrs()
        .with_context(|| format!("bad address {addr}"))?
        .next()
        .ok_or_else(|| anyhow!("bad address {addr}"))?;
    let mut s = TcpStream::connect_timeout(&sa, timeout)
        .with_context(|| format!("cannot connect to {addr}"))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    s.take(8 << 20)
        .read_to_end(&mut raw)
        .with_context(|| format!("reading http://{addr}{path}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("http://{addr}{path}: no HTTP response"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        bail!("http://{addr}{path}: HTTP {status}");
    }
    Ok(body.to_string())
}

/// The first bean of a `/jmx?qry=...` answer.
pub fn jmx_bean(addr: &str, query: &str, timeout: Duration) -> Result<serde_json::Value> {
    let body = http_get(addr, &format!("/jmx?qry={query}"), timeout)?;
    let v: serde_json::Value =
        serde_json::from_str(&body).with_context(|| format!("{addr}: JMX answer is not JSON"))?;
    v["beans"]
        .as_array()
        .and_then(|b| b.first())
        .cloned()
        .ok_or_else(|| anyhow!("{addr}: no JMX bean {query} yet"))
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
}
