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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

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
