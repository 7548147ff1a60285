//! The SHA-512 in an Apache checksum file, in each of the four forms the projects publish:
//! GNU `sha512sum` (ZooKeeper), BSD `sha512sum --tag` (Hadoop 3.2.1+), `gpg --print-md SHA512`
//! (Kafka, HBase) and `gpg --print-mds` (`.mds`, old Hadoop and HBase).
//!
//! Parsed by markers, never by stripping every non-hex character from the file: names such as
//! `hadoop-3.3.6-RC1` or `kafka_2.12` hold hex digits of their own.

/// A parsed checksum file: the digest, and the file name written inside when there is one
/// (Hadoop's may be the release candidate's, `hadoop-3.3.6-RC1.tar.gz`; never required to match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sha512Sum {
    pub digest: [u8; 64],
    pub name: Option<String>,
}

impl Sha512Sum {
    pub fn hex(&self) -> String {
        hex::encode(self.digest)
    }
}

/// The SHA-512 in `text`, or `None` when the file holds none (another algorithm only, or
/// something that is not a checksum file at all).
pub fn parse_sha512(text: &str) -> Option<Sha512Sum> {
    bsd(text)
        .or_else(|| gnu(text))
        .or_else(|| mds(text))
        .or_else(|| gpg(text))
}

/// `SHA512 (name) = hex`
fn bsd(text: &str) -> Option<Sha512Sum> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("SHA512 (")?;
        let (name, hex) = rest.rsplit_once(") = ")?;
        Some(Sha512Sum {
            digest: digest_of(hex.trim())?,
            name: Some(name.to_string()),
        })
    })
}

/// `hex  name` or `hex *name` (binary mode), or a bare digest; no final newline needed.
fn gnu(text: &str) -> Option<Sha512Sum> {
    let mut words = text.split_whitespace();
    let digest = digest_of(words.next()?)?;
    let name = words.next().map(|n| n.trim_start_matches('*').to_string());
    Some(Sha512Sum { digest, name })
}

/// `name: SHA512 = 17C89172 ...` with continuation lines, among the blocks of other
/// algorithms; the block ends at the next `ALGO =` or at a line ending in `:` (a build path
/// on its own line heads each block of some files).
fn mds(text: &str) -> Option<Sha512Sum> {
    let at = text.find("SHA512 =")?;
    let head = &text[..at];
    let name = head
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|l| l.strip_suffix(':').map(str::trim))
        .map(|n| n.rsplit('/').next().unwrap_or(n).to_string());
    let mut hex = String::new();
    for (i, line) in text[at + "SHA512 =".len()..].lines().enumerate() {
        let t = line.trim();
        if i > 0 && (t.ends_with(':') || is_algo_line(t)) {
            break;
        }
        let t = match t.split_once(": ") {
            // `name: ALGO = ...` starts the next block.
            Some((_, r)) if i > 0 && is_algo_line(r.trim()) => break,
            _ => t,
        };
        hex.extend(t.chars().filter(|c| !c.is_whitespace()));
    }
    Some(Sha512Sum {
        digest: digest_of(&hex)?,
        name,
    })
}

fn is_algo_line(t: &str) -> bool {
    t.split_once(" =").is_some_and(|(algo, _)| {
        !algo.is_empty()
            && algo
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

/// `name: 16EB62DA D4EA40F6 ...` over several lines, continuation lines indented (or, for a
/// long name, the digest starting on the next line).
fn gpg(text: &str) -> Option<Sha512Sum> {
    let (name, rest) = text.split_once(':')?;
    let hex: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
    Some(Sha512Sum {
        digest: digest_of(&hex)?,
        name: Some(name.trim().to_string()).filter(|n| !n.is_empty()),
    })
}

/// Exactly 128 hex digits, either case.
fn digest_of(hex: &str) -> Option<[u8; 64]> {
    if hex.len() != 128 {
        return None;
    }
    let mut out = [0u8; 64];
    hex::decode_to_slice(hex, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "16eb62dad4ea40f6dd8747cf6a49678ed1a4a53eb3a9e67dc53a89f1471d1dc55147e5cad1aed8b0b22a01f5c1f6f6ca4b4e956261cda9b691d94c1626593afb";

    fn parsed(text: &str) -> (String, Option<String>) {
        let s = parse_sha512(text).unwrap_or_else(|| panic!("no sha512 in {text:?}"));
        (s.hex(), s.name)
    }

    #[test]
    fn gnu_with_and_without_newline_and_binary_mark() {
        let name = "apache-zookeeper-3.8.4-bin.tar.gz";
        assert_eq!(
            parsed(&format!("{HEX}  {name}")),
            (HEX.into(), Some(name.into()))
        );
        assert_eq!(
            parsed(&format!("{HEX} *{name}\n")),
            (HEX.into(), Some(name.into()))
        );
        assert_eq!(parsed(&format!("{}\n", HEX.to_uppercase())).0, HEX);
    }

    #[test]
    fn bsd_with_the_release_candidates_name() {
        let text = format!("SHA512 (hadoop-3.3.6-RC1.tar.gz) = {HEX}\n");
        assert_eq!(
            parsed(&text),
            (HEX.into(), Some("hadoop-3.3.6-RC1.tar.gz".into()))
        );
    }

    #[test]
    fn gpg_grouped_uppercase() {
        // The real hbase-1.3.2.1-bin.tar.gz.sha512.
        let text = "hbase-1.3.2.1-bin.tar.gz: 16EB62DA D4EA40F6 DD8747CF 6A49678E D1A4A53E B3A9E67D\n                          C53A89F1 471D1DC5 5147E5CA D1AED8B0 B22A01F5 C1F6F6CA\n                          4B4E9562 61CDA9B6 91D94C16 26593AFB\n";
        assert_eq!(
            parsed(text),
            (HEX.into(), Some("hbase-1.3.2.1-bin.tar.gz".into()))
        );
    }

    #[test]
    fn gpg_long_name_wraps_after_the_colon() {
        let g: Vec<String> = HEX
            .to_uppercase()
            .as_bytes()
            .chunks(8)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let text = format!(
            "a-very-long-file-name-for-testing-gpg-wrapping-1.2.3-bin.tar.gz: \n{}\n {}\n",
            g[..9].join(" "),
            g[9..].join(" ")
        );
        assert_eq!(parsed(&text).0, HEX);
    }

    fn grouped(hex: &str, indent: usize) -> String {
        let g: Vec<String> = hex
            .to_uppercase()
            .as_bytes()
            .chunks(8)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        g.chunks(5)
            .map(|c| c.join(" "))
            .collect::<Vec<_>>()
            .join(&format!("\n{}", " ".repeat(indent)))
    }

    #[test]
    fn mds_takes_the_sha512_block_only() {
        let sha384 = "AB".repeat(48);
        let text = format!(
            "hadoop-2.7.7.tar.gz:    MD5 = 00 11 22 33 44 55 66 77  88 99 AA BB CC DD EE FF\nhadoop-2.7.7.tar.gz: SHA384 = {}\nhadoop-2.7.7.tar.gz: SHA512 = {}\n",
            grouped(&sha384, 30),
            grouped(HEX, 30)
        );
        assert_eq!(
            parsed(&text),
            (HEX.into(), Some("hadoop-2.7.7.tar.gz".into()))
        );
        // SHA512 first, another block after it: the block ends at the next `name: ALGO =`.
        let text = format!(
            "hadoop-2.7.7.tar.gz: SHA512 = {}\nhadoop-2.7.7.tar.gz: SHA384 = {}\n",
            grouped(HEX, 30),
            grouped(&sha384, 30)
        );
        assert_eq!(parsed(&text).0, HEX);
    }

    #[test]
    fn mds_with_the_build_path_on_its_own_line() {
        let text = format!(
            "/build/source/target/artifacts/hadoop-2.8.5.tar.gz: \nSHA384 = {}\n/build/source/target/artifacts/hadoop-2.8.5.tar.gz: \nSHA512 = {}\n/build/source/target/artifacts/hadoop-2.8.5.tar.gz: \nRMD160 = 0011 2233\n",
            grouped(&"CD".repeat(48), 9),
            grouped(HEX, 9)
        );
        assert_eq!(
            parsed(&text),
            (HEX.into(), Some("hadoop-2.8.5.tar.gz".into()))
        );
    }

    #[test]
    fn no_sha512_is_none() {
        for text in [
            "",
            "zookeeper-3.4.6.tar.gz: MD5 = 00112233445566778899AABBCCDDEEFF\n",
            "d41d8cd98f00b204e9800998ecf8427e  zookeeper-3.4.6.tar.gz\n",
            "<html><body>404 Not Found</body></html>",
            // A name with hex digits, a digest one digit short: never stitched together.
            &format!("kafka_2.12-2.4.0.tgz: {}", &HEX[1..]),
        ] {
            assert_eq!(parse_sha512(text), None, "{text:?}");
        }
    }
}
