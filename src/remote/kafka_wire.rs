//! Just enough of the Kafka protocol for `verify` and the rolling-restart gate: a Metadata
//! request (API key 3, version 1, supported by every broker from 0.10.0 to 3.x) that returns the
//! brokers the cluster knows, its controller and, when asked, every partition's leader, replicas
//! and in-sync replicas.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// One partition as the broker that answered sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub topic: String,
    pub partition: i32,
    /// -1 when the partition has no leader (offline).
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl Partition {
    pub fn under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }
    pub fn offline(&self) -> bool {
        self.leader < 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub brokers: Vec<Broker>,
    /// -1 when there is none.
    pub controller: i32,
    /// Empty unless asked for with `metadata_all`.
    pub partitions: Vec<Partition>,
}

/// `all_topics`: a null topic array (every topic); else an empty one (none).
fn request_topics(correlation: i32, all_topics: bool) -> Vec<u8> {
    let client = b"stackctl-verify";
    let mut body = Vec::new();
    body.extend(3i16.to_be_bytes()); // api_key: Metadata
    body.extend(1i16.to_be_bytes()); // api_version
    body.extend(correlation.to_be_bytes());
    body.extend((client.len() as i16).to_be_bytes());
    body.extend(client);
    // topics: an empty array asks for none (v1); null (-1) for all.
    body.extend(if all_topics { -1i32 } else { 0i32 }.to_be_bytes());
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
    fn i8(&mut self) -> Result<i8> {
        Ok(self.take(1)?[0] as i8)
    }
    fn count(&mut self, what: &str) -> Result<usize> {
        let n = self.i32()?;
        // Every element takes at least 4 bytes: a count above what is left is garbage.
        if n < 0 || n as usize > (self.b.len() - self.at) / 4 + 1 {
            bail!("implausible {what} count {n}");
        }
        Ok(n as usize)
    }
    fn ids(&mut self) -> Result<Vec<i32>> {
        let n = self.count("replica")?;
        (0..n).map(|_| self.i32()).collect()
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
    let mut partitions = Vec::new();
    // Topic metadata: present (possibly empty) in every v1 response.
    if r.at < r.b.len() {
        for _ in 0..r.count("topic")? {
            let _error = r.i16()?;
            let topic = r.string()?.unwrap_or_default();
            let _internal = r.i8()?;
            for _ in 0..r.count("partition")? {
                let _error = r.i16()?;
                let partition = r.i32()?;
                let leader = r.i32()?;
                let replicas = r.ids()?;
                let isr = r.ids()?;
                partitions.push(Partition {
                    topic: topic.clone(),
                    partition,
                    leader,
                    replicas,
                    isr,
                });
            }
        }
    }
    Ok(Metadata {
        brokers,
        controller,
        partitions,
    })
}

/// Asks one broker for the cluster's brokers and controller, all within `timeout`.
pub fn metadata(addr: &str, timeout: Duration) -> Result<Metadata> {
    fetch(addr, timeout, false, 1 << 20)
}

/// The same, with every topic's partitions (leaders, replicas, in-sync replicas).
pub fn metadata_all(addr: &str, timeout: Duration) -> Result<Metadata> {
    fetch(addr, timeout, true, 64 << 20)
}

fn fetch(addr: &str, timeout: Duration, all_topics: bool, cap: i32) -> Result<Metadata> {
    let deadline = Instant::now() + timeout;
    let mut s = crate::remote::probe::connect(addr, timeout)?;
    let correlation = 7;
    s.write_all(&request_topics(correlation, all_topics))?;
    let len = crate::remote::probe::read_until(&mut s, Some(4), 4, deadline)
        .with_context(|| format!("{addr}: no Metadata response"))?;
    let len = i32::from_be_bytes(len[..4].try_into()?);
    if !(0..=cap).contains(&len) {
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
        let r = request_topics(7, false);
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
        assert!(m.partitions.is_empty());
    }

    #[test]
    fn parses_partitions_and_tells_under_replicated_and_offline_ones() {
        let mut b = Vec::new();
        b.extend(7i32.to_be_bytes());
        b.extend(0i32.to_be_bytes()); // no brokers
        b.extend(2i32.to_be_bytes()); // controller
        b.extend(1i32.to_be_bytes()); // one topic
        b.extend(0i16.to_be_bytes());
        b.extend(5i16.to_be_bytes());
        b.extend(b"sales");
        b.push(0);
        b.extend(2i32.to_be_bytes()); // two partitions
        for (p, leader, isr) in [(0i32, 1i32, vec![1i32, 2, 3]), (1, -1, vec![2])] {
            b.extend(0i16.to_be_bytes());
            b.extend(p.to_be_bytes());
            b.extend(leader.to_be_bytes());
            b.extend(3i32.to_be_bytes());
            for r in [1i32, 2, 3] {
                b.extend(r.to_be_bytes());
            }
            b.extend((isr.len() as i32).to_be_bytes());
            for r in isr {
                b.extend(r.to_be_bytes());
            }
        }
        let m = parse_metadata(&b, 7).unwrap();
        assert_eq!(m.controller, 2);
        assert_eq!(m.partitions.len(), 2);
        assert!(!m.partitions[0].under_replicated() && !m.partitions[0].offline());
        assert!(m.partitions[1].under_replicated() && m.partitions[1].offline());
        assert_eq!(m.partitions[1].topic, "sales");
        // A count larger than the bytes left is refused before anything is allocated.
        let mut bad = Vec::new();
        bad.extend(7i32.to_be_bytes());
        bad.extend(0i32.to_be_bytes());
        bad.extend(2i32.to_be_bytes());
        bad.extend(i32::MAX.to_be_bytes()); // "2 billion topics" in 16 bytes
        let e = parse_metadata(&bad, 7).unwrap_err().to_string();
        assert!(e.contains("implausible topic count"), "{e}");
    }
}
