//! Checking a release's detached `.asc` signature against its project's `KEYS` file with
//! `gpgv` (on every apt system: apt depends on it). `gpgv` reads only binary keyrings, so the
//! armoured blocks of `KEYS` are decoded here; nothing is imported into the user's `~/.gnupg`.

use std::path::Path;
use std::process::Command;

/// What became of the signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigCheck {
    /// A good signature by the key with this fingerprint.
    Good { key: String },
    /// Not checked, and why (no gpgv, no .asc on the mirror, the key is not in KEYS ...).
    NotChecked(String),
    /// A bad signature: the file is not what the project signed.
    Bad(String),
}

impl SigCheck {
    /// The line stackctl prints: `signature: good (gpgv, key 0x…)`.
    pub fn describe(&self) -> String {
        match self {
            SigCheck::Good { key } => format!("signature: good (gpgv, key {key})"),
            SigCheck::NotChecked(why) => format!("signature: not checked ({why})"),
            SigCheck::Bad(why) => format!("signature: BAD ({why})"),
        }
    }
}

/// The binary OpenPGP packets of every `PUBLIC KEY BLOCK` in an armoured `KEYS` file (the free
/// text between the blocks, the armour headers and the `=CRC` lines dropped). `None` when it
/// holds no block or a block is not base64.
pub fn dearmor_keys(text: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
    const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";
    let mut out = Vec::new();
    let mut blocks = 0;
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim() != BEGIN {
            continue;
        }
        // Header lines (`Version: ...`, `Comment: ...`) run up to the first blank line; a
        // block without headers starts with its data straight away.
        let mut body = String::new();
        let mut in_headers = true;
        for l in lines.by_ref() {
            let t = l.trim();
            if t == END {
                break;
            }
            if in_headers {
                if t.is_empty() {
                    in_headers = false;
                    continue;
                }
                if t.contains(": ") {
                    continue;
                }
                in_headers = false;
            }
            if t.starts_with('=') {
                continue; // the CRC-24 line
            }
            body.push_str(t);
        }
        out.extend(base64(&body)?);
        blocks += 1;
    }
    (blocks > 0).then_some(out)
}

/// Standard base64 with padding; whitespace already removed.
fn base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        match chunk.len() {
            4 => out.extend(&bytes[1..4]),
            3 => out.extend(&bytes[1..3]),
            2 => out.push(bytes[1]),
            _ => return None,
        }
    }
    Some(out)
}

/// Whether `gpgv` can be run.
pub fn gpgv_available() -> bool {
    Command::new("gpgv")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `gpgv --keyring KEYRING --status-fd 1 ASC FILE`; `keyring` must be absolute (a bare
/// name is looked up under `~/.gnupg`).
pub fn gpgv(keyring: &Path, asc: &Path, file: &Path) -> SigCheck {
    let out = Command::new("gpgv")
        .arg("--keyring")
        .arg(keyring)
        .arg("--status-fd")
        .arg("1")
        .arg(asc)
        .arg(file)
        .output();
    match out {
        Err(e) => SigCheck::NotChecked(format!("cannot run gpgv: {e}")),
        Ok(o) => parse_status(&String::from_utf8_lossy(&o.stdout)),
    }
}

/// The verdict in gpgv's `--status-fd` lines (`[GNUPG:] VALIDSIG <fpr> ...`, `BADSIG`,
/// `NO_PUBKEY`, `ERRSIG`); the trust lines are ignored, as the key's validity is that it sits
/// in the project's KEYS.
pub fn parse_status(status: &str) -> SigCheck {
    let mut good = None;
    let mut validsig = None;
    for line in status.lines() {
        let mut w = line.split_whitespace();
        if w.next() != Some("[GNUPG:]") {
            continue;
        }
        match w.next() {
            Some("BADSIG") => {
                let key = w.next().unwrap_or("?");
                return SigCheck::Bad(format!("gpgv: BADSIG by key {key}"));
            }
            Some("GOODSIG") => good = w.next().map(str::to_string),
            Some("VALIDSIG") => validsig = w.next().map(str::to_string),
            Some("NO_PUBKEY") => {
                let key = w.next().unwrap_or("?");
                return SigCheck::NotChecked(format!("the signing key {key} is not in KEYS"));
            }
            _ => {}
        }
    }
    match (validsig, good) {
        (Some(fpr), _) | (None, Some(fpr)) => SigCheck::Good {
            key: format!("0x{fpr}"),
        },
        _ => {
            let err = status
                .lines()
                .find(|l| l.contains("ERRSIG"))
                .map(|l| l.trim().to_string());
            SigCheck::NotChecked(match err {
                Some(e) => format!("gpgv could not check it: {e}"),
                None => "gpgv reported no signature".into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_padding() {
        assert_eq!(base64("TWFu").unwrap(), b"Man");
        assert_eq!(base64("TWE=").unwrap(), b"Ma");
        assert_eq!(base64("TQ==").unwrap(), b"M");
        assert_eq!(base64("T!=="), None);
    }

    #[test]
    fn dearmor_concatenates_blocks_and_skips_text_headers_and_crc() {
        let keys = "This file contains the PGP keys of the developers.\n\npub   rsa4096 2019-01-01\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nVersion: GnuPG v2\nComment: one\n\nTWFu\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\nmore text\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nTWE=\n=efgh\n-----END PGP PUBLIC KEY BLOCK-----\n";
        assert_eq!(dearmor_keys(keys).unwrap(), b"ManMa");
        assert_eq!(dearmor_keys("no keys here"), None);
    }

    #[test]
    fn status_lines() {
        let good = "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 1234ABCD5678EF00 Rel <r@a.org>\n[GNUPG:] VALIDSIG 0123456789ABCDEF0123456789ABCDEF01234567 2026-01-01 ...\n[GNUPG:] TRUST_UNDEFINED 0 pgp\n";
        assert_eq!(
            parse_status(good),
            SigCheck::Good {
                key: "0x0123456789ABCDEF0123456789ABCDEF01234567".into()
            }
        );
        assert!(matches!(
            parse_status("[GNUPG:] BADSIG 1234ABCD5678EF00 Rel <r@a.org>\n"),
            SigCheck::Bad(_)
        ));
        assert!(matches!(
            parse_status("[GNUPG:] ERRSIG 1234 1 10 00 1 9\n[GNUPG:] NO_PUBKEY 1234ABCD5678EF00\n"),
            SigCheck::NotChecked(m) if m.contains("1234ABCD5678EF00")
        ));
    }
}
