//! Just enough ZooKeeper for health gates and `verify`: four-letter words (`srvr`, `mntr`) and
//! `getChildren`/`getData` over the jute wire protocol, and for `verify --smoke` `create`,
//! `sync` and `delete`.
//!
//! A JVM client per check would cost seconds; these are one TCP round trip each. Every call has
//! a timeout, and it is one deadline for the whole call: frames the call skips (notifications,
//! pings, stale replies) do not extend it, and no frame may claim more than `MAX_FRAME` bytes.

use std::io::Write;
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

/// A session with one server (reads; the smoke test's create, sync and delete).
pub struct Session {
    stream: crate::remote::probe::Conn,
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

const OP_CREATE: i32 = 1;
const OP_DELETE: i32 = 2;
const OP_GET_DATA: i32 = 4;
const OP_SYNC: i32 = 9;
const OP_GET_CHILDREN: i32 = 8;
const OP_CLOSE: i32 = -11;
const ERR_NO_NODE: i32 = -101;

/// The largest frame a reply may announce (ZooKeeper's own `jute.maxbuffer` default is 1 MiB
/// of data; a children list of a big znode stays well under this). A larger length prefix is
/// an error before anything is read or allocated for it.
pub const MAX_FRAME: usize = 16 << 20;

impl Session {
    /// Connects and opens a session, all of it within `timeout`; every later call gets
    /// `timeout` of its own.
    pub fn open(addr: &str, timeout: Duration) -> Result<Session> {
        let deadline = Instant::now() + timeout;
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
        let reply = recv(&mut stream, deadline).with_context(|| format!("{addr}: handshake"))?;
        let negotiated = parse_handshake(&reply)?;
        if negotiated <= 0 {
            bail!("{addr}: ZooKeeper refused the session (no quorum?)");
        }
        Ok(Session {
            stream,
            xid: 0,
            timeout,
        })
    }

    /// One request and its reply, within one `timeout` however many other frames come first.
    fn call(&mut self, op: i32, path: &str) -> Result<Option<Vec<u8>>> {
        let mut args = Vec::new();
        put_str(&mut args, path);
        args.push(0); // no watch
        self.call_with(op, path, &args)
    }

    /// One request (`args` after the header) and its reply; NONODE is None, any other error
    /// is named (`ZooKeeper error NODEEXISTS (-110) on /path`).
    fn call_with(&mut self, op: i32, path: &str, args: &[u8]) -> Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + self.timeout;
        self.xid += 1;
        let mut req = Vec::new();
        put_i32(&mut req, self.xid);
        put_i32(&mut req, op);
        req.extend_from_slice(args);
        send(&mut self.stream, &req)?;
        let mut skipped = 0u64;
        loop {
            if Instant::now() >= deadline {
                bail!(
                    "no reply to {path} within {} ms ({skipped} other frames)",
                    self.timeout.as_millis()
                );
            }
            let reply = recv(&mut self.stream, deadline).with_context(|| {
                format!("waiting for the reply to {path} ({skipped} other frames before it)")
            })?;
            let (xid, err, body) = parse_reply(&reply)?;
            if xid != self.xid {
                skipped += 1;
                continue; // a ping, a notification or a stale reply
            }
            return match err {
                0 => Ok(Some(body.to_vec())),
                ERR_NO_NODE => Ok(None),
                e => bail!("ZooKeeper error {} ({e}) on {path}", error_name(e)),
            };
        }
    }

    /// Children of `path`, or None when it does not exist.
    pub fn children(&mut self, path: &str) -> Result<Option<Vec<String>>> {
        let Some(body) = self.call(OP_GET_CHILDREN, path)? else {
            return Ok(None);
        };
        parse_children(&body).map(Some)
    }

    /// Data of `path`, or None when it does not exist.
    pub fn data(&mut self, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(body) = self.call(OP_GET_DATA, path)? else {
            return Ok(None);
        };
        parse_data(&body).map(Some)
    }

    /// Creates `path` with `data`, open to everyone (world:anyone, all permissions); an
    /// ephemeral node vanishes with this session, however the session ends. The path created.
    pub fn create(&mut self, path: &str, data: &[u8], ephemeral: bool) -> Result<String> {
        let args = create_args(path, data, ephemeral);
        let body = self
            .call_with(OP_CREATE, path, &args)?
            .ok_or_else(|| anyhow!("ZooKeeper error NONODE (-101) on {path}: no parent"))?;
        parse_path(&body)
    }

    /// Deletes `path` whatever its version; Ok(false) when it did not exist.
    pub fn delete(&mut self, path: &str) -> Result<bool> {
        Ok(self
            .call_with(OP_DELETE, path, &delete_args(path))?
            .is_some())
    }

    /// `sync`: the server this session talks to catches up with the leader on `path` before
    /// it answers (a read after it sees every write committed before the sync).
    pub fn sync(&mut self, path: &str) -> Result<()> {
        let mut args = Vec::new();
        put_str(&mut args, path);
        match self.call_with(OP_SYNC, path, &args)? {
            Some(body) => parse_path(&body).map(|_| ()),
            None => bail!("ZooKeeper error NONODE (-101) on sync {path}"),
        }
    }

    /// This session's bound for each later call.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    pub fn close(mut self) {
        self.xid += 1;
        let mut req = Vec::new();
        put_i32(&mut req, self.xid);
        put_i32(&mut req, OP_CLOSE);
        let _ = send(&mut self.stream, &req);
    }
}

fn send(s: &mut crate::remote::probe::Conn, body: &[u8]) -> Result<()> {
    let mut frame = Vec::with_capacity(body.len() + 4);
    put_i32(&mut frame, body.len() as i32);
    frame.extend_from_slice(body);
    s.write_all(&frame).context("writing to ZooKeeper")?;
    Ok(())
}

/// One length-prefixed frame, before `deadline`. The length is checked before anything is read
/// for it, and the body is read as it arrives (never allocated ahead from the prefix).
fn recv(s: &mut crate::remote::probe::Conn, deadline: Instant) -> Result<Vec<u8>> {
    let len = read_until(s, Some(4), 4, deadline).context("reading from ZooKeeper")?;
    let n = frame_len(&len)?;
    read_until(s, Some(n), n, deadline).context("reading from ZooKeeper")
}

// The decoders of what a ZooKeeper server sends, apart from the socket (and fuzzed so:
// tests/fuzz.rs). None panics, whatever the bytes.

/// The body length a frame's 4-byte prefix announces, refused above `MAX_FRAME`.
pub fn frame_len(prefix: &[u8]) -> Result<usize> {
    let b: [u8; 4] = prefix
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("short ZooKeeper frame prefix"))?;
    let n = i32::from_be_bytes(b);
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_FRAME)
        .ok_or_else(|| anyhow!("implausible ZooKeeper frame length {n}"))
}

/// The session timeout a handshake reply negotiated (0 or less: refused).
pub fn parse_handshake(reply: &[u8]) -> Result<i32> {
    let mut r = Reader(reply);
    let _proto = r.i32()?;
    r.i32()
}

/// A reply's header (xid, error code) and its body.
pub fn parse_reply(reply: &[u8]) -> Result<(i32, i32, &[u8])> {
    let mut r = Reader(reply);
    let xid = r.i32()?;
    let _zxid = r.i64()?;
    let err = r.i32()?;
    Ok((xid, err, r.0))
}

/// A getChildren body: the children's names, numeric ones in numeric order.
pub fn parse_children(body: &[u8]) -> Result<Vec<String>> {
    let mut r = Reader(body);
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
    Ok(out)
}

/// A getData body: the node's data.
pub fn parse_data(body: &[u8]) -> Result<Vec<u8>> {
    Reader(body).buf()
}

/// The arguments of a create request: path, data, the ACL world:anyone with every permission
/// (OPEN_ACL_UNSAFE), flags (1: EPHEMERAL, 0: PERSISTENT).
pub fn create_args(path: &str, data: &[u8], ephemeral: bool) -> Vec<u8> {
    let mut b = Vec::new();
    put_str(&mut b, path);
    put_i32(&mut b, data.len() as i32);
    b.extend_from_slice(data);
    put_i32(&mut b, 1); // one ACL entry
    put_i32(&mut b, 31); // READ | WRITE | CREATE | DELETE | ADMIN
    put_str(&mut b, "world");
    put_str(&mut b, "anyone");
    put_i32(&mut b, i32::from(ephemeral));
    b
}

/// The arguments of a delete request: path, version -1 (any).
pub fn delete_args(path: &str) -> Vec<u8> {
    let mut b = Vec::new();
    put_str(&mut b, path);
    put_i32(&mut b, -1);
    b
}

/// A create or sync reply body: the path.
pub fn parse_path(body: &[u8]) -> Result<String> {
    Ok(String::from_utf8_lossy(&Reader(body).buf()?).into_owned())
}

/// ZooKeeper's name for an error code (KeeperException.Code).
pub fn error_name(code: i32) -> &'static str {
    match code {
        -1 => "SYSTEMERROR",
        -2 => "RUNTIMEINCONSISTENCY",
        -3 => "DATAINCONSISTENCY",
        -4 => "CONNECTIONLOSS",
        -5 => "MARSHALLINGERROR",
        -6 => "UNIMPLEMENTED",
        -7 => "OPERATIONTIMEOUT",
        -8 => "BADARGUMENTS",
        -13 => "NEWCONFIGNOQUORUM",
        -14 => "RECONFIGINPROGRESS",
        -100 => "APIERROR",
        -101 => "NONODE",
        -102 => "NOAUTH",
        -103 => "BADVERSION",
        -108 => "NOCHILDRENFOREPHEMERALS",
        -110 => "NODEEXISTS",
        -111 => "NOTEMPTY",
        -112 => "SESSIONEXPIRED",
        -113 => "INVALIDCALLBACK",
        -114 => "INVALIDACL",
        -115 => "AUTHFAILED",
        -118 => "SESSIONMOVED",
        -119 => "NOTREADONLY",
        -120 => "EPHEMERALONLOCALSESSION",
        -121 => "NOWATCHER",
        -122 => "REQUESTTIMEOUT",
        -123 => "RECONFIGDISABLED",
        -124 => "SESSIONCLOSEDREQUIRESASLAUTH",
        -125 => "QUOTAEXCEEDED",
        -127 => "THROTTLEDOP",
        _ => "UNKNOWN",
    }
}

/// A number from `mntr` output (`zk_synced_followers\t2` lines).
pub fn mntr_field(text: &str, key: &str) -> Option<usize> {
    text.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|v| v.trim().parse::<usize>().ok())
    })
}

/// The AdminServer's `/commands/mntr` JSON as `mntr` lines.
pub fn mntr_from_admin(v: &serde_json::Value) -> String {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    format!(
                        "zk_{k}\t{}",
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::net::TcpStream;

    /// Reads one length-prefixed frame (the fake server's side).
    fn read_frame(c: &mut TcpStream) -> Vec<u8> {
        let mut len = [0u8; 4];
        c.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        c.read_exact(&mut body).unwrap();
        body
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    /// The answer to a connect request: protocol 0, a 4 s session, id 7, an empty password.
    fn handshake_reply() -> Vec<u8> {
        let mut b = Vec::new();
        put_i32(&mut b, 0);
        put_i32(&mut b, 4000);
        put_i64(&mut b, 7);
        put_i32(&mut b, 16);
        b.extend_from_slice(&[0u8; 16]);
        frame(&b)
    }

    /// A fake server on 127.0.0.1:0 that answers the handshake, reads one request and then runs
    /// `then` on the connection (bounded by the test's own loops).
    fn fake_server(
        then: impl FnOnce(&mut TcpStream) + Send + 'static,
    ) -> (String, std::thread::JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
            read_frame(&mut c);
            c.write_all(&handshake_reply()).unwrap();
            read_frame(&mut c);
            then(&mut c);
        });
        (addr, t)
    }

    #[test]
    fn endless_foreign_frames_end_at_the_call_deadline() {
        // After the request: notifications (xid -1), pings (-2) and stale replies (xid 0),
        // as fast as the socket takes them, for 10 s at most or until the client hangs up.
        let (addr, server) = fake_server(|c| {
            let t0 = Instant::now();
            let mut n = 0u64;
            while t0.elapsed() < Duration::from_secs(10) {
                let xid = [-1i32, -2, 0][(n % 3) as usize];
                let mut b = Vec::new();
                put_i32(&mut b, xid);
                put_i64(&mut b, n as i64);
                put_i32(&mut b, 0);
                put_i32(&mut b, 3); // a WatcherEvent: type, state, path
                put_i32(&mut b, 3);
                put_str(&mut b, "/brokers/ids");
                if c.write_all(&frame(&b)).is_err() {
                    return;
                }
                n += 1;
            }
            panic!("the client kept reading foreign frames for 10 s");
        });
        let timeout = Duration::from_millis(700);
        let mut s = Session::open(&addr, timeout).unwrap();
        let t0 = Instant::now();
        let e = s.children("/brokers/ids").unwrap_err();
        let took = t0.elapsed();
        drop(s);
        let text = format!("{e:#}");
        assert!(
            text.contains("timed out") || text.contains("no reply to /brokers/ids within"),
            "{text}"
        );
        assert!(text.contains("other frames"), "{text}");
        assert!(took >= timeout, "{took:?}");
        assert!(took < timeout + Duration::from_secs(1), "{took:?}");
        server.join().unwrap();
    }

    #[test]
    fn a_hostile_length_prefix_is_refused_before_reading() {
        // 2 GB, then nothing: reading (or allocating) that much would wait for the deadline;
        // the length alone is the error, at once.
        for len in [0x7fff_ffffu32, 0x8000_0000, (MAX_FRAME as u32) + 1] {
            let (addr, server) = fake_server(move |c| {
                c.write_all(&len.to_be_bytes()).unwrap();
                // Hold the connection until the client gives up (bounded by the read timeout).
                let _ = c.read(&mut [0u8; 1]);
            });
            let mut s = Session::open(&addr, Duration::from_secs(5)).unwrap();
            let t0 = Instant::now();
            let e = s.children("/x").unwrap_err();
            assert!(
                t0.elapsed() < Duration::from_secs(1),
                "{len:#x}: {:?}",
                t0.elapsed()
            );
            assert!(
                format!("{e:#}").contains("implausible ZooKeeper frame length"),
                "{len:#x}: {e:#}"
            );
            drop(s);
            server.join().unwrap();
        }
        // In the handshake too.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            read_frame(&mut c);
            c.write_all(&0x7fff_fff0u32.to_be_bytes()).unwrap();
            let _ = c.read(&mut [0u8; 1]);
        });
        let t0 = Instant::now();
        let e = Session::open(&addr, Duration::from_secs(5)).err().unwrap();
        assert!(t0.elapsed() < Duration::from_secs(1));
        assert!(format!("{e:#}").contains("implausible"), "{e:#}");
        server.join().unwrap();
    }

    #[test]
    fn a_reply_after_foreign_frames_is_still_found() {
        let (addr, server) = fake_server(|c| {
            for xid in [-1i32, -2, 0] {
                let mut b = Vec::new();
                put_i32(&mut b, xid);
                put_i64(&mut b, 0);
                put_i32(&mut b, 0);
                c.write_all(&frame(&b)).unwrap();
            }
            let mut b = Vec::new();
            put_i32(&mut b, 1); // the first call's xid
            put_i64(&mut b, 5);
            put_i32(&mut b, 0);
            put_i32(&mut b, 3);
            for child in ["10", "2", "a"] {
                put_str(&mut b, child);
            }
            c.write_all(&frame(&b)).unwrap();
        });
        let mut s = Session::open(&addr, Duration::from_secs(2)).unwrap();
        assert_eq!(
            s.children("/brokers/ids").unwrap(),
            Some(vec!["a".to_string(), "2".into(), "10".into()])
        );
        drop(s);
        server.join().unwrap();
    }

    #[test]
    fn create_delete_and_sync_requests_are_encoded_as_jute_does() {
        // What ZooKeeper's own client sends for create("/t", "ab", OPEN_ACL_UNSAFE, EPHEMERAL).
        let want: &[u8] = &[
            0, 0, 0, 2, b'/', b't', // path
            0, 0, 0, 2, b'a', b'b', // data
            0, 0, 0, 1, // one ACL
            0, 0, 0, 31, // perms ALL
            0, 0, 0, 5, b'w', b'o', b'r', b'l', b'd', // scheme
            0, 0, 0, 6, b'a', b'n', b'y', b'o', b'n', b'e', // id
            0, 0, 0, 1, // flags EPHEMERAL
        ];
        assert_eq!(create_args("/t", b"ab", true), want);
        assert_eq!(*create_args("/t", b"ab", false).last().unwrap(), 0);
        assert_eq!(
            delete_args("/t"),
            [0, 0, 0, 2, b'/', b't', 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(parse_path(&[0, 0, 0, 2, b'/', b't']).unwrap(), "/t");
        assert!(parse_path(&[0, 0, 0, 9, b'/']).is_err());
        assert_eq!(error_name(-110), "NODEEXISTS");
        assert_eq!(error_name(-4), "CONNECTIONLOSS");
        assert_eq!(error_name(-999), "UNKNOWN");
    }

    #[test]
    fn a_create_sync_and_delete_round_trip_against_a_fake_server() {
        let (addr, server) = fake_server(|c| {
            // The create: op 1 with the path; answer its xid with the path created.
            let reply = |c: &mut TcpStream, xid: i32, err: i32, body: &[u8]| {
                let mut b = Vec::new();
                put_i32(&mut b, xid);
                put_i64(&mut b, 9);
                put_i32(&mut b, err);
                b.extend_from_slice(body);
                c.write_all(&frame(&b)).unwrap();
            };
            let mut path = Vec::new();
            put_str(&mut path, "/t");
            reply(c, 1, 0, &path);
            let req = read_frame(c); // sync
            assert_eq!(&req[..8], &[0, 0, 0, 2, 0, 0, 0, 9]);
            reply(c, 2, 0, &path);
            let req = read_frame(c); // delete
            assert_eq!(&req[4..8], &[0, 0, 0, 2]);
            reply(c, 3, -101, &[]);
            let _ = read_frame(c); // a second create: NODEEXISTS
            reply(c, 4, -110, &[]);
        });
        let mut s = Session::open(&addr, Duration::from_secs(2)).unwrap();
        assert_eq!(s.create("/t", b"x", true).unwrap(), "/t");
        s.sync("/t").unwrap();
        assert!(!s.delete("/t").unwrap());
        let e = s.create("/t", b"x", true).unwrap_err();
        assert!(
            format!("{e:#}").contains("NODEEXISTS (-110) on /t"),
            "{e:#}"
        );
        drop(s);
        server.join().unwrap();
    }

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
