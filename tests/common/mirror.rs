//! A loopback HTTP/1.1 mirror for the fetch tests: serves a directory laid out like the Apache
//! archive (GET and HEAD, `Range: bytes=N-` / `N-M` with `If-Range` against its own ETag), and
//! misbehaves on request: cut the connection after N body bytes (once), ignore ranges (200
//! instead of 206). It counts and logs every request. One thread, one connection at a time,
//! `Connection: close`; it stops when dropped, and handles at most 10,000 connections.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct Switches {
    /// Cut the next archive transfer after this many body bytes (0: no cut).
    cut_after: AtomicU64,
    ignore_range: AtomicBool,
    stop: AtomicBool,
    log: Mutex<Vec<Seen>>,
}

pub struct Mirror {
    pub url: String,
    pub root: PathBuf,
    sw: Arc<Switches>,
    thread: Option<JoinHandle<()>>,
}

impl Mirror {
    /// Serves `root` on 127.0.0.1 at a free port.
    pub fn serve(root: &Path) -> Mirror {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let sw = Arc::new(Switches::default());
        let (sw2, root2) = (sw.clone(), root.to_path_buf());
        let thread = std::thread::spawn(move || {
            let mut served = 0;
            while !sw2.stop.load(Ordering::SeqCst) && served < 10_000 {
                match listener.accept() {
                    Ok((s, _)) => {
                        served += 1;
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                        let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
                        handle(s, &root2, &sw2);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break,
                }
            }
        });
        Mirror {
            url,
            root: root.to_path_buf(),
            sw,
            thread: Some(thread),
        }
    }

    /// The next archive transfer (a GET of a file other than a checksum, signature or KEYS)
    /// stops after `n` body bytes, the connection closed mid-body.
    pub fn cut_next_after(&self, n: u64) {
        self.sw.cut_after.store(n, Ordering::SeqCst);
    }
    /// Answer range requests with the whole file (200), as a server without range support does.
    pub fn ignore_range(&self, on: bool) {
        self.sw.ignore_range.store(on, Ordering::SeqCst);
    }
    pub fn requests(&self) -> Vec<Seen> {
        self.sw.log.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.sw.log.lock().unwrap().len()
    }
    /// Requests for files whose path ends with `suffix`.
    pub fn gets_of(&self, suffix: &str) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.method == "GET" && s.path.ends_with(suffix))
            .collect()
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.sw.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(mut s: TcpStream, root: &Path, sw: &Switches) {
    let mut reader = BufReader::new(match s.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let mut headers = Vec::new();
    for _ in 0..100 {
        let mut l = String::new();
        if reader.read_line(&mut l).is_err() || l.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let mut seen = Seen {
        method: method.clone(),
        path: path.clone(),
        range: header("range"),
        if_range: header("if-range"),
        status: 0,
    };
    let rel = path.trim_start_matches('/');
    let file = root.join(rel);
    let meta = (!rel.split('/').any(|c| c == ".."))
        .then(|| std::fs::metadata(&file).ok())
        .flatten();
    let Some(meta) = meta.filter(|m| m.is_file()) else {
        seen.status = 404;
        sw.log.lock().unwrap().push(seen);
        let _ = s.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        );
        return;
    };
    let len = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{len:x}-{mtime:x}\"");
    // A range counts only when If-Range (if sent) still names this file.
    let range = seen
        .range
        .as_deref()
        .filter(|_| !sw.ignore_range.load(Ordering::SeqCst))
        .filter(|_| seen.if_range.as_deref().is_none_or(|v| v == etag))
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| {
            let a: u64 = a.parse().ok()?;
            let b: u64 = if b.is_empty() {
                len.saturating_sub(1)
            } else {
                b.parse().ok()?
            };
            Some((a, b.min(len.saturating_sub(1))))
        });
    let (status, start, end) = match range {
        Some((a, _)) if a >= len => {
            seen.status = 416;
            sw.log.lock().unwrap().push(seen);
            let _ = s.write_all(
                format!("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
            );
            return;
        }
        Some((a, b)) => (206, a, b + 1),
        None => (200, 0, len),
    };
    seen.status = status;
    let archive = !(rel.ends_with(".sha512")
        || rel.ends_with(".mds")
        || rel.ends_with(".asc")
        || rel.ends_with("KEYS"));
    sw.log.lock().unwrap().push(seen);
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nETag: {etag}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n",
        if status == 206 { "Partial Content" } else { "OK" },
        end - start
    );
    if status == 206 {
        head.push_str(&format!(
            "Content-Range: bytes {start}-{}/{len}\r\n",
            end - 1
        ));
    }
    head.push_str("\r\n");
    if s.write_all(head.as_bytes()).is_err() || method == "HEAD" {
        return;
    }
    let cut = if archive {
        sw.cut_after.swap(0, Ordering::SeqCst)
    } else {
        0
    };
    let Ok(mut f) = std::fs::File::open(&file) else {
        return;
    };
    if f.seek(SeekFrom::Start(start)).is_err() {
        return;
    }
    let mut left = end - start;
    if cut > 0 {
        left = left.min(cut);
    }
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let k = match f.read(&mut buf[..left.min(64 * 1024) as usize]) {
            Ok(0) | Err(_) => break,
            Ok(k) => k,
        };
        if s.write_all(&buf[..k]).is_err() {
            return;
        }
        left -= k as u64;
    }
    let _ = s.flush();
    let _ = s.shutdown(Shutdown::Both);
}
