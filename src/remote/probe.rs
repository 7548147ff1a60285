//! Health probes over the daemons' own ports (JMX servlet, YARN REST, the ZooKeeper and Kafka
//! wire protocols): a plain HTTP/1.0 GET is all the HTTP ones need; every call has a timeout.
//!
//! A probe connects straight from this machine, or, for a host whose probes go through SSH
//! (behind a bastion: [`route_through`]), to a local socket that the host's multiplexed SSH
//! master forwards to `address:port` as seen from the host itself. The forward is asked of the
//! master on the first probe of that port (`ssh -O forward`) and kept for the run.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// A probe's connection: TCP straight to the service, or a local socket forwarded over SSH.
#[derive(Debug)]
pub enum Conn {
    Tcp(TcpStream),
    Forwarded(UnixStream),
}

impl Conn {
    pub fn set_read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.set_read_timeout(t),
            Conn::Forwarded(s) => s.set_read_timeout(t),
        }
    }
    pub fn set_write_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.set_write_timeout(t),
            Conn::Forwarded(s) => s.set_write_timeout(t),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Forwarded(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Forwarded(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.flush(),
            Conn::Forwarded(s) => s.flush(),
        }
    }
}

struct Via {
    /// The host's SSH master's control socket.
    control: PathBuf,
    /// For evidence: "through the SSH connection (ProxyJump bastion)".
    what: String,
}

#[derive(Default)]
struct Routes {
    /// Host name or address → the SSH master its probes go through.
    via: HashMap<String, std::sync::Arc<Via>>,
    /// (host, port) → the local socket already forwarded there.
    forwards: HashMap<(String, u16), PathBuf>,
    next: u64,
}

static ROUTES: Mutex<Option<Routes>> = Mutex::new(None);

fn routes<T>(f: impl FnOnce(&mut Routes) -> T) -> T {
    let mut g = ROUTES.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(Routes::default))
}

/// From now on, probes of `keys` (a host's name and address) go through the SSH master at
/// `control`.
pub fn route_through(keys: &[&str], control: &Path, what: &str) {
    let via = std::sync::Arc::new(Via {
        control: control.to_path_buf(),
        what: what.to_string(),
    });
    routes(|r| {
        for k in keys {
            r.via.insert(k.to_string(), via.clone());
            r.forwards.retain(|(h, _), _| h != k);
        }
    });
}

/// The master at `control` is closing: its hosts are probed straight again.
pub fn unroute(control: &Path) {
    routes(|r| {
        let gone: Vec<String> = r
            .via
            .iter()
            .filter(|(_, v)| v.control == control)
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            r.via.remove(&k);
            r.forwards.retain(|(h, _), _| *h != k);
        }
    });
}

/// How probes of `host` (a name or address) connect, for `verify`'s evidence.
pub fn how(host: &str) -> String {
    routes(|r| r.via.get(host).map(|v| v.what.clone()))
        .unwrap_or_else(|| "straight from this machine".to_string())
}

/// Splits `host:port` (`[v6]:port` too).
fn split_addr(addr: &str) -> Option<(&str, u16)> {
    let (h, p) = addr.rsplit_once(':')?;
    Some((
        h.trim_start_matches('[').trim_end_matches(']'),
        p.parse().ok()?,
    ))
}

/// The local socket that reaches `host:port` through `via`'s master, asked for on first use.
fn forwarded(via: &Via, host: &str, port: u16, timeout: Duration) -> Result<PathBuf> {
    let key = (host.to_string(), port);
    if let Some(p) = routes(|r| r.forwards.get(&key).cloned()) {
        return Ok(p);
    }
    let dir = via
        .control
        .parent()
        .ok_or_else(|| anyhow!("no control directory"))?;
    let n = routes(|r| {
        r.next += 1;
        r.next
    });
    let sock = dir.join(format!("p{n}"));
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    // A mux client of the running master: no new login, no ssh_config of the operator's
    // (`-F /dev/null`), bounded like every probe.
    let mut child = std::process::Command::new("ssh")
        .arg("-F")
        .arg("/dev/null")
        .arg("-S")
        .arg(&via.control)
        .arg("-O")
        .arg("forward")
        .arg("-L")
        .arg(format!("{}:{target}", sock.display()))
        .arg("stackctl-forward")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot run ssh for a forward")?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the SSH master did not set up a forward to {target} within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        bail!(
            "the SSH master refused a forward to {target}: {}",
            err.trim()
        );
    }
    routes(|r| r.forwards.insert(key, sock.clone()));
    Ok(sock)
}

/// A connection to `addr` (`host:port`) with connect, read and write timeouts: through the
/// host's SSH connection when its probes go that way, else straight to the first of its
/// addresses that accepts.
pub fn connect(addr: &str, timeout: Duration) -> Result<Conn> {
    if let Some((host, port)) = split_addr(addr) {
        if let Some(via) = routes(|r| r.via.get(host).cloned()) {
            let sock = forwarded(&via, host, port, timeout)?;
            let s = UnixStream::connect(&sock)
                .with_context(|| format!("cannot connect to {addr} {}", via.what))?;
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))?;
            return Ok(Conn::Forwarded(s));
        }
    }
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .with_context(|| format!("bad address {addr}"))?
        .collect();
    let mut last = anyhow!("bad address {addr}");
    for sa in addrs {
        match TcpStream::connect_timeout(&sa, timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                return Ok(Conn::Tcp(s));
            }
            Err(e) => last = anyhow!(e).context(format!("cannot connect to {addr}")),
        }
    }
    Err(last)
}

/// Whether something accepts connections on `addr`. A forwarded socket always accepts at once
/// (the master opens the channel to the host only then): the channel's refusal shows as the
/// master closing the socket, so a forwarded check waits up to `settle` for that.
pub fn accepts(addr: &str, timeout: Duration, settle: Duration) -> Result<()> {
    match connect(addr, timeout)? {
        Conn::Tcp(_) => Ok(()),
        Conn::Forwarded(mut s) => {
            s.set_read_timeout(Some(settle))?;
            let mut b = [0u8; 1];
            match s.read(&mut b) {
                Ok(0) => bail!("cannot connect to {addr}: refused on the host"),
                Ok(_) => Ok(()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(()),
                Err(e) => Err(anyhow!(e).context(format!("cannot connect to {addr}"))),
            }
        }
    }
}

/// Reads until `want` bytes (or, with `None`, until the peer closes), at most `cap` bytes, all
/// before `deadline`: a peer that trickles one byte just inside each read timeout cannot hold
/// a probe for longer, nor make it allocate more than it really sent.
pub fn read_until(
    s: &mut Conn,
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

/// An HTTP answer of any status: what `verify --smoke`'s writes need (a redirect's `Location`,
/// a 201 without a body, an error's message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u16,
    /// Header names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
    /// The body as JSON (an error's `RemoteException` too).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// One HTTP/1.1 request with `Connection: close` (`method` PUT/POST/DELETE/GET, an optional
/// body with its content type), through [`connect`] (so behind a bastion too), the answer read
/// whole before `timeout` is over. A redirect is returned, not followed: the caller decides.
pub fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> Result<HttpReply> {
    let deadline = Instant::now() + timeout;
    let mut s = connect(addr, timeout)?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n"
    );
    match body {
        Some((ctype, b)) => {
            req.push_str(&format!(
                "Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                b.len()
            ));
            let mut all = req.into_bytes();
            all.extend_from_slice(b);
            s.write_all(&all)?;
        }
        None => {
            req.push_str("Content-Length: 0\r\n\r\n");
            s.write_all(req.as_bytes())?;
        }
    }
    let what = || format!("{method} http://{addr}{path}");
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    // Until the peer closes, or the answer is complete by its own framing (a server that
    // keeps the connection open anyway cannot hold the round trip).
    loop {
        if reply_complete(&raw) {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("{}: no complete answer within {timeout:?}", what());
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                bail!("{}: no complete answer within {timeout:?}", what())
            }
            Err(e) => return Err(anyhow!(e).context(what())),
        }
        if raw.len() > 64 << 20 {
            bail!("{}: answer larger than 64 MiB", what());
        }
    }
    parse_reply(&raw).map_err(|e| anyhow!("{}: {e}", what()))
}

/// Whether `raw` holds a whole answer by its framing (`Content-Length` or a last chunk).
fn reply_complete(raw: &[u8]) -> bool {
    let Some(end) = find(raw, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    if head.starts_with("http/1.1 1") {
        return false;
    }
    for line in head.lines().skip(1) {
        if let Some(v) = line.strip_prefix("content-length:") {
            return v.trim().parse::<usize>().is_ok_and(|n| body.len() >= n);
        }
        if line.starts_with("transfer-encoding:") && line.contains("chunked") {
            return dechunk(body).is_ok();
        }
    }
    false
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a `Transfer-Encoding: chunked` body; Err while it is incomplete or malformed.
fn dechunk(mut b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let i = find(b, b"\r\n").ok_or_else(|| anyhow!("incomplete chunk size"))?;
        let size_s = String::from_utf8_lossy(&b[..i]);
        let size = usize::from_str_radix(size_s.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| anyhow!("bad chunk size {size_s:?}"))?;
        b = &b[i + 2..];
        if size == 0 {
            return Ok(out);
        }
        if size.checked_add(2).is_none_or(|n| b.len() < n) {
            bail!("incomplete chunk");
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// An HTTP answer of any status, its headers and body (a `Content-Length` body is cut to its
/// length, a chunked one decoded), a `100 Continue` before it skipped.
pub fn parse_reply(raw: &[u8]) -> Result<HttpReply> {
    let mut raw = raw;
    loop {
        let end = find(raw, b"\r\n\r\n").ok_or_else(|| anyhow!("no HTTP response"))?;
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        let body = &raw[end + 4..];
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        if !status_line.starts_with("HTTP/") {
            bail!("no HTTP response");
        }
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {status_line:?}"))?;
        if status == 100 {
            raw = body;
            continue;
        }
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let body = if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            dechunk(body)?
        } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
            if body.len() < n {
                bail!("body cut off after {} of {n} bytes", body.len());
            }
            body[..n].to_vec()
        } else {
            body.to_vec()
        };
        return Ok(HttpReply {
            status,
            headers,
            body,
        });
    }
}

/// Splits `http://host:port/path?query` into (`host:port`, `/path?query`).
pub fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (hp, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Some((hp.to_string(), path.to_string()))
}

/// A query parameter of a URL or path (`namenoderpcaddress` of a WebHDFS redirect), decoded.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    let q = q.split('#').next().unwrap_or(q);
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| url_decode(v))
}

/// Percent-decoding of a query value (`+` is a space).
pub fn url_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(c) => {
                        out.push(c);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// Percent-encoding of a query value: everything but unreserved characters.
pub fn url_encode(v: &str) -> String {
    v.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/smoke")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn replies_of_any_status_parse_with_headers_and_framing() {
        // The NameNode's CREATE redirect: the DataNode URL and the RPC address it carries.
        let r = parse_reply(&fixture("webhdfs_create_redirect.http")).unwrap();
        assert_eq!(r.status, 307);
        let loc = r.header("Location").unwrap();
        assert_eq!(
            query_param(loc, "namenoderpcaddress").as_deref(),
            Some("10.231.77.11:8020")
        );
        assert_eq!(query_param(loc, "createflag").as_deref(), Some(""));
        assert_eq!(query_param(loc, "nosuch"), None);
        let (hp, path) = split_url(loc).unwrap();
        assert_eq!(hp, "10.231.77.11:9864");
        assert!(path.starts_with("/webhdfs/v1/t1/probe?op=CREATE"), "{path}");
        assert!(r.body.is_empty());
        // A DataNode's 201 after a 100 Continue.
        let r = parse_reply(&fixture("webhdfs_dn_created.http")).unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.header("location"), Some("hdfs://host1:8020/t1/host2"));
        // A chunked JSON answer (the ResourceManager's), decoded.
        let raw = fixture("yarn_new_application_chunked.http");
        assert!(reply_complete(&raw));
        assert!(!reply_complete(&raw[..raw.len() - 5]));
        let r = parse_reply(&raw).unwrap();
        assert_eq!(
            r.json().unwrap()["application-id"],
            "application_1796173765969_0001"
        );
        // An error's body, cut to its Content-Length.
        let mut raw = fixture("webhdfs_403.http");
        assert!(reply_complete(&raw));
        raw.extend_from_slice(b"trailing garbage");
        let r = parse_reply(&raw).unwrap();
        assert_eq!(r.status, 403);
        assert_eq!(
            r.json().unwrap()["RemoteException"]["message"],
            "Permission denied"
        );
        // Cut off, or not HTTP at all.
        assert!(parse_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").is_err());
        assert!(parse_reply(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_reply(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab"
        )
        .is_err());
        assert!(
            parse_reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }

    #[test]
    fn query_values_encode_and_decode() {
        assert_eq!(url_encode("a b/c:d"), "a%20b%2Fc%3Ad");
        assert_eq!(url_decode("a%20b%2Fc%3Ad+e"), "a b/c:d e");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
        assert_eq!(split_url("http://h:1"), Some(("h:1".into(), "/".into())));
        assert_eq!(split_url("hdfs://h:1/x"), None);
    }

    #[test]
    fn a_put_with_a_body_reaches_a_real_socket_and_its_answer_comes_back() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            // The head and the 5-byte body.
            while find(&got, b"\r\n\r\n").is_none_or(|i| got.len() < i + 4 + 5) {
                let n = c.read(&mut buf).unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&got).to_string();
            assert!(
                text.starts_with("PUT /webhdfs/v1/x?op=CREATE HTTP/1.1\r\n"),
                "{text}"
            );
            assert!(text.contains("Content-Length: 5\r\n"), "{text}");
            assert!(text.ends_with("\r\n\r\nhello"), "{text}");
            // Answers, and keeps the connection open: the framing ends the read.
            c.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            std::thread::sleep(Duration::from_secs(3));
        });
        let t0 = Instant::now();
        let r = http_request(
            &addr,
            "PUT",
            "/webhdfs/v1/x?op=CREATE",
            Some(("application/octet-stream", b"hello")),
            Duration::from_secs(2),
        )
        .unwrap();
        assert_eq!((r.status, r.text().as_str()), (201, "ok"));
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        t.join().unwrap();
    }

    #[test]
    fn a_port_check_takes_names_and_both_ip_families_and_sees_a_closed_port() {
        // A SecondaryNameNode (or any port-probed role) on a host given by name.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        accepts(
            &format!("localhost:{port}"),
            Duration::from_secs(2),
            Duration::ZERO,
        )
        .unwrap();
        accepts(
            &format!("127.0.0.1:{port}"),
            Duration::from_secs(2),
            Duration::ZERO,
        )
        .unwrap();
        if let Ok(l6) = TcpListener::bind("[::1]:0") {
            let p6 = l6.local_addr().unwrap().port();
            accepts(
                &format!("[::1]:{p6}"),
                Duration::from_secs(2),
                Duration::ZERO,
            )
            .unwrap();
        }
        drop(l);
        let e = accepts(
            &format!("127.0.0.1:{port}"),
            Duration::from_secs(2),
            Duration::ZERO,
        );
        assert!(format!("{:#}", e.unwrap_err()).contains("cannot connect to 127.0.0.1:"));
        assert!(accepts(
            "no-such-host.invalid:1",
            Duration::from_secs(2),
            Duration::ZERO
        )
        .is_err());
        assert_eq!(how("127.0.0.1"), "straight from this machine");
    }

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
