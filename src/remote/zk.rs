//! Just enough ZooKeeper for health gates and `verify`: four-letter words (`srvr`, `mntr`) and
//! read-only `getChildren`/`getData` over the jute wire protocol.
//!
//! A JVM client per check would cost seconds; these are one TCP round trip each. Every call has
//! a timeout.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::remote::probe::{connect, read_until};

/// Sends a four-letter word and returns the whole answer. A word the server does not allow
/// answers "... is not executed because it is not in the whitelist": that is an error here.
pub fn four_letter(addr: &str, word: &str, timeout: Duration) -> Result<String> {
    let deadline = Instant::now() + timeout;
    let mut s = connect(addr, timeout)?;
    s.write_all(word.as_bytes())?;
    let raw = read_until(&mut s, None, 1 << 20, deadline)
        .with_context(|| format!("{addr}: reading the answer to {word}"))?;
    let out = String::from_utf8_lossy(&raw).into_owned();
    if out.contains("is not in the whitelist") || out.contains("not executed") {
        bail!(
            "{addr}: `{word}` is not allowed by 4lw.commands.whitelist: {}",
            out.trim()
        );
    }
    if out.trim().is_empty() {
        bail!("{addr}: empty answer to {word}");
    }
    Ok(out)
}

/// What `srvr` says about a server.
#[derive(Debug, Clone, PartialEq)]
pub struct Srvr {
    pub version: String,
    pub mode: String,
    pub zxid: String,
}

pub fn parse_srvr(text: &str) -> Result<Srvr> {
    if text.contains("not currently serving requests") {
        bail!("not serving requests (no quorum)");
    }
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let full = field("Zookeeper version:").ok_or_else(|| anyhow!("no version in srvr answer"))?;
    // `3.5.6-c11b7e26bc554b8523dc929761dd28808913f091, built on ...` -> 3.5.6
    let version = full
        .split(',')
        .next()
        .unwrap_or("")
        .split('-')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    Ok(Srvr {
        version,
        mode: field("Mode:").ok_or_else(|| anyhow!("no mode in srvr answer"))?,
        zxid: field("Zxid:").unwrap_or_default(),
    })
}

/// A read-only session with one server.
pub struct Session {
    stream: TcpStream,
    xid: i32,
    timeout: Duration,
}

fn put_i32(b: &mut Vec<u8>, v: i32) {
    b.extend_from_slice(&v.to_be_bytes());
}
fn put_i64(b: &mut Vec<u8>, v: i64) {
    b.extend_from_slice(&v.to_be_bytes());
}
fn put_str(b: &mut Vec<u8>, s: &str) {
    put_i32(b, s.len() as i32);
    b.extend_from_slice(s.as_bytes());
}

struct Reader<'a>(&'a [u8]);
impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.0.len() < n {
            bail!("short ZooKeeper reply");
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn buf(&mut self) -> Result<Vec<u8>> {
        let n = self.i32()?;
        if n < 0 {
            return Ok(Vec::new());
        }
        if n > 1 << 20 {
            bail!("implausible ZooKeeper string length {n}");
        }
        Ok(self.take(n as usize)?.to_vec())
    }
}

const OP_GET_DATA: i32 = 4;
const OP_GET_CHILDREN: i32 = 8;
const OP_CLOSE: i32 = -11;
const ERR_NO_NODE: i32 = -101;

impl Session {
    pub fn open(addr: &str, timeout: Duration) -> Result<Session> {
        let mut stream = connect(addr, timeout)?;
        let mut req = Vec::new();
        put_i32(&mut req, 0); // protocol version
        put_i64(&mut req, 0); // last zxid seen
        put_i32(&mut req, timeout.as_millis().clamp(4000, 40000) as i32); // session timeout
        put_i64(&mut req, 0); // session id
        put_i32(&mut req, 16);
        req.extend_from_slice(&[0u8; 16]); // password
        req.push(1); // read-only allowed
        send(&mut stream, &req)?;
        let reply = recv(&mut stream, timeout)?;
        let mut r = Reader(&reply);
        let _proto = r.i32()?;
        let negotiated = r.i32()?;
        if negotiated <= 0 {
            bail!("{addr}: ZooKeeper refused the session (no quorum?)");
        }
        Ok(Session {
            stream,
            xid: 0,
            timeout,
        })
    }

    fn call(&mut self, op: i32, path: &str) -> Result<Option<Vec<u8>>> {
        self.xid += 1;
        let mut req = Vec::new();
        put_i32(&mut req, self.xid);
        put_i32(&mut req, op);
        put_str(&mut req, path);
        req.push(0); // no watch
        send(&mut self.stream, &req)?;
        loop {
            let reply = recv(&mut self.stream, self.timeout)?;
            let mut r = Reader(&reply);
            let xid = r.i32()?;
            let _zxid = r.i64()?;
            let err = r.i32()?;
            if xid != self.xid {
                continue; // a ping or notification
            }
            return match err {
                0 => Ok(Some(r.0.to_vec())),
                ERR_NO_NODE => Ok(None),
                e => bail!("ZooKeeper error {e} on {path}"),
            };
        }
    }

    /// Children of `path`, or None when it does not exist.
    pub fn children(&mut self, path: &str) -> Result<Option<Vec<String>>> {
        let Some(body) = self.call(OP_GET_CHILDREN, path)? else {
            return Ok(None);
        };
        let mut r = Reader(&body);
        let n = r.i32()?;
        let mut out = Vec::new();
        for _ in 0..n.max(0) {
            out.push(String::from_utf8_lossy(&r.buf()?).into_owned());
        }
        out.sort_by(|a, b| {
            a.parse::<i64>()
                .ok()
                .cmp(&b.parse::<i64>().ok())
                .then(a.cmp(b))
        });
        Ok(Some(out))
    }

    /// Data of `path`, or None when it does not exist.
    pub fn data(&mut self, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(body) = self.call(OP_GET_DATA, path)? else {
            return Ok(None);
        };
        Ok(Some(Reader(&body).buf()?))
    }

    pub fn close(mut self) {
        self.xid += 1;
        let mut req = Vec::new();
        put_i32(&mut req, self.xid);
        put_i32(&mut req, OP_CLOSE);
        let _ = send(&mut self.stream, &req);
    }
}

fn send(s: &mut TcpStream, body: &[u8]) -> Result<()> {
    let mut frame = Vec::with_capacity(body.len() + 4);
    put_i32(&mut frame, body.len() as i32);
    frame.extend_from_slice(body);
    s.write_all(&frame).context("writing to ZooKeeper")?;
    Ok(())
}

fn recv(s: &mut TcpStream, timeout: Duration) -> Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let len = read_until(s, Some(4), 4, deadline).context("reading from ZooKeeper")?;
    let n = i32::from_be_bytes(len[..4].try_into().expect("4 bytes"));
    if !(0..=(16 << 20)).contains(&n) {
        bail!("implausible ZooKeeper frame length {n}");
    }
    read_until(s, Some(n as usize), n as usize, deadline).context("reading from ZooKeeper")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srvr_answers() {
        let t = "Zookeeper version: 3.5.6-c11b7e26bc554b8523dc929761dd28808913f091, built on 10/08/2019 20:18 GMT\nLatency min/avg/max: 0/0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x100000000\nMode: follower\nNode count: 5\n";
        assert_eq!(
            parse_srvr(t).unwrap(),
            Srvr {
                version: "3.5.6".into(),
                mode: "follower".into(),
                zxid: "0x100000000".into()
            }
        );
        let t = "Zookeeper version: 3.4.6-1569965, built on 02/20/2014 09:09 GMT\nMode: leader\n";
        assert_eq!(parse_srvr(t).unwrap().version, "3.4.6");
        assert!(parse_srvr("This ZooKeeper instance is not currently serving requests\n").is_err());
        assert!(parse_srvr("garbage").is_err());
    }
}
