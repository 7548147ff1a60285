//! Just enough of the Kafka protocol for `verify`: a Metadata request (API key 3, version 1,
//! supported by every broker from 0.10.0 to 3.x) that asks for no topics and returns the
//! brokers the cluster knows and its controller.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub brokers: Vec<Broker>,
    /// -1 when there is none.
    pub controller: i32,
}

fn request(correlation: i32) -> Vec<u8> {
    let client = b"stackctl-verify";
    let mut body = Vec::new();
    body.extend(3i16.to_be_bytes()); // api_key: Metadata
    body.extend(1i16.to_be_bytes()); // api_version
    body.extend(correlation.to_be_bytes());
    body.extend((client.len() as i16).to_be_bytes());
    body.extend(client);
    body.extend(0i32.to_be_bytes()); // topics: an empty array (v1: none; null would be all)
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| anyhow!("short Metadata response"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into()?))
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into()?))
    }
    fn string(&mut self) -> Result<Option<String>> {
        let n = self.i16()?;
        if n < 0 {
            return Ok(None);
        }
        Ok(Some(
            String::from_utf8_lossy(self.take(n as usize)?).into_owned(),
        ))
    }
}

/// Parses a Metadata v1 response body (after the length prefix).
pub fn parse_metadata(body: &[u8], correlation: i32) -> Result<Metadata> {
    let mut r = Reader { b: body, at: 0 };
    if r.i32()? != correlation {
        bail!("Metadata response for another request");
    }
    let n = r.i32()?;
    if !(0..=100_000).contains(&n) {
        bail!("implausible broker count {n}");
    }
    let mut brokers = Vec::new();
    for _ in 0..n {
        let id = r.i32()?;
        let host = r.string()?.unwrap_or_default();
        let port = r.i32()?;
        let _rack = r.string()?;
        brokers.push(Broker { id, host, port });
    }
    let controller = r.i32()?;
    brokers.sort_by_key(|b| b.id);
    Ok(Metadata {
        brokers,
        controller,
    })
}

/// Asks one broker for the cluster's brokers and controller, all within `timeout`.
pub fn metadata(addr: &str, timeout: Duration) -> Result<Metadata> {
    let deadline = Instant::now() + timeout;
    let mut s = crate::remote::probe::connect(addr, timeout)?;
    let correlation = 7;
    s.write_all(&request(correlation))?;
    let len = crate::remote::probe::read_until(&mut s, Some(4), 4, deadline)
        .with_context(|| format!("{addr}: no Metadata response"))?;
    let len = i32::from_be_bytes(len[..4].try_into()?);
    // Brokers and a controller, no topics: a few KB even for a large cluster.
    if !(0..=1 << 20).contains(&len) {
        bail!("{addr}: implausible response length {len}");
    }
    let body = crate::remote::probe::read_until(&mut s, Some(len as usize), len as usize, deadline)
        .with_context(|| format!("{addr}: short Metadata response"))?;
    parse_metadata(&body, correlation).with_context(|| format!("{addr}: Metadata response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_framed_as_kafka_expects() {
        let r = request(7);
        assert_eq!(
            i32::from_be_bytes(r[..4].try_into().unwrap()) as usize,
            r.len() - 4
        );
        assert_eq!(&r[4..8], &[0, 3, 0, 1]);
    }

    #[test]
    fn parses_brokers_and_controller_and_refuses_garbage() {
        let mut b = Vec::new();
        b.extend(7i32.to_be_bytes());
        b.extend(2i32.to_be_bytes());
        for (id, host) in [(2i32, "10.0.0.2"), (1, "10.0.0.1")] {
            b.extend(id.to_be_bytes());
            b.extend((host.len() as i16).to_be_bytes());
            b.extend(host.as_bytes());
            b.extend(9092i32.to_be_bytes());
            b.extend((-1i16).to_be_bytes());
        }
        b.extend(1i32.to_be_bytes());
        b.extend(0i32.to_be_bytes());
        let m = parse_metadata(&b, 7).unwrap();
        assert_eq!(m.controller, 1);
        assert_eq!(
            m.brokers.iter().map(|b| b.id).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(m.brokers[0].host, "10.0.0.1");
        assert!(parse_metadata(&b[..20], 7).is_err());
        assert!(parse_metadata(&b, 8).is_err());
    }
}
