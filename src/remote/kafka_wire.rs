//! Just enough of the Kafka protocol for `verify` and the rolling-restart gate: a Metadata
//! request (API key 3, version 1, supported by every broker from 0.10.0 to 3.x) that returns the
//! brokers the cluster knows, its controller and, when asked, every partition's leader, replicas
//! and in-sync replicas. And for `verify --smoke`: create a topic, produce, fetch, delete.

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
            .ok_or_else(|| anyhow!("short Kafka response"))?;
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
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into()?))
    }
    /// A zig-zag varint of at most 10 bytes.
    fn varint(&mut self) -> Result<i64> {
        let mut z = 0u64;
        for i in 0..10 {
            let b = self.take(1)?[0];
            z |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok((z >> 1) as i64 ^ -((z & 1) as i64));
            }
        }
        bail!("varint longer than 10 bytes")
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

// ---- `verify --smoke`: CreateTopics v2, Produce v3, Fetch v4, DeleteTopics v1 (every broker
// from 2.0 to 3.9 accepts them; none is a "flexible" version), a Metadata v1 request for named
// topics, and RecordBatch v2 with its CRC32C. Encoders and decoders are pure; `Client` is the
// thin I/O around them.

pub const API_PRODUCE: i16 = 0;
pub const API_FETCH: i16 = 1;
pub const API_METADATA: i16 = 3;
pub const API_CREATE_TOPICS: i16 = 19;
pub const API_DELETE_TOPICS: i16 = 20;

/// Kafka's name for an error code (org.apache.kafka.common.protocol.Errors).
pub fn error_name(code: i16) -> &'static str {
    match code {
        -1 => "UNKNOWN_SERVER_ERROR",
        0 => "NONE",
        1 => "OFFSET_OUT_OF_RANGE",
        2 => "CORRUPT_MESSAGE",
        3 => "UNKNOWN_TOPIC_OR_PARTITION",
        4 => "INVALID_FETCH_SIZE",
        5 => "LEADER_NOT_AVAILABLE",
        6 => "NOT_LEADER_OR_FOLLOWER",
        7 => "REQUEST_TIMED_OUT",
        8 => "BROKER_NOT_AVAILABLE",
        9 => "REPLICA_NOT_AVAILABLE",
        10 => "MESSAGE_TOO_LARGE",
        11 => "STALE_CONTROLLER_EPOCH",
        12 => "OFFSET_METADATA_TOO_LARGE",
        13 => "NETWORK_EXCEPTION",
        14 => "COORDINATOR_LOAD_IN_PROGRESS",
        15 => "COORDINATOR_NOT_AVAILABLE",
        16 => "NOT_COORDINATOR",
        17 => "INVALID_TOPIC_EXCEPTION",
        18 => "RECORD_LIST_TOO_LARGE",
        19 => "NOT_ENOUGH_REPLICAS",
        20 => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        21 => "INVALID_REQUIRED_ACKS",
        22 => "ILLEGAL_GENERATION",
        29 => "TOPIC_AUTHORIZATION_FAILED",
        31 => "CLUSTER_AUTHORIZATION_FAILED",
        32 => "INVALID_TIMESTAMP",
        35 => "UNSUPPORTED_VERSION",
        36 => "TOPIC_ALREADY_EXISTS",
        37 => "INVALID_PARTITIONS",
        38 => "INVALID_REPLICATION_FACTOR",
        39 => "INVALID_REPLICA_ASSIGNMENT",
        40 => "INVALID_CONFIG",
        41 => "NOT_CONTROLLER",
        42 => "INVALID_REQUEST",
        43 => "UNSUPPORTED_FOR_MESSAGE_FORMAT",
        44 => "POLICY_VIOLATION",
        56 => "KAFKA_STORAGE_ERROR",
        57 => "LOG_DIR_NOT_FOUND",
        58 => "SASL_AUTHENTICATION_FAILED",
        73 => "TOPIC_DELETION_DISABLED",
        74 => "FENCED_LEADER_EPOCH",
        75 => "UNKNOWN_LEADER_EPOCH",
        76 => "UNSUPPORTED_COMPRESSION_TYPE",
        _ => "UNKNOWN",
    }
}

/// `NAME (code)`, for messages.
pub fn error_text(code: i16) -> String {
    format!("{} ({code})", error_name(code))
}

/// Errors a fresh topic answers while its leaders are elected and its metadata spreads: worth
/// asking again until the round trip's deadline.
pub fn retriable(code: i16) -> bool {
    matches!(code, 3 | 5 | 6 | 7 | 9 | 41)
}

fn put_i16(b: &mut Vec<u8>, v: i16) {
    b.extend(v.to_be_bytes());
}
fn put_i32(b: &mut Vec<u8>, v: i32) {
    b.extend(v.to_be_bytes());
}
fn put_i64(b: &mut Vec<u8>, v: i64) {
    b.extend(v.to_be_bytes());
}
fn put_string(b: &mut Vec<u8>, s: &str) {
    put_i16(b, s.len() as i16);
    b.extend(s.as_bytes());
}
/// Zig-zag varint (Kafka's record fields).
fn put_varint(b: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            b.push(z as u8);
            return;
        }
        b.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

/// A whole request: size, header v1 (api key, version, correlation id, client id), `body`.
pub fn frame_request(api_key: i16, version: i16, correlation: i32, body: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    put_i16(&mut h, api_key);
    put_i16(&mut h, version);
    put_i32(&mut h, correlation);
    put_string(&mut h, "stackctl-smoke");
    h.extend_from_slice(body);
    let mut out = (h.len() as i32).to_be_bytes().to_vec();
    out.extend(h);
    out
}

/// CRC32C (Castagnoli, reflected 0x82F63B78), what RecordBatch v2 carries.
pub fn crc32c(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, b| {
        t[((c ^ *b as u32) & 0xff) as usize] ^ (c >> 8)
    })
}

/// One record (no key, no headers) in a RecordBatch v2 at offset 0, not compressed, no
/// producer id.
pub fn record_batch(value: &[u8], timestamp_ms: i64) -> Vec<u8> {
    let mut rec = Vec::new();
    rec.push(0); // attributes
    put_varint(&mut rec, 0); // timestamp delta
    put_varint(&mut rec, 0); // offset delta
    put_varint(&mut rec, -1); // no key
    put_varint(&mut rec, value.len() as i64);
    rec.extend_from_slice(value);
    put_varint(&mut rec, 0); // no headers
                             // From attributes on: what the CRC covers.
    let mut tail = Vec::new();
    put_i16(&mut tail, 0); // attributes
    put_i32(&mut tail, 0); // last offset delta
    put_i64(&mut tail, timestamp_ms);
    put_i64(&mut tail, timestamp_ms);
    put_i64(&mut tail, -1); // producer id
    put_i16(&mut tail, -1); // producer epoch
    put_i32(&mut tail, -1); // base sequence
    put_i32(&mut tail, 1); // one record
    put_varint(&mut tail, rec.len() as i64);
    tail.extend(rec);
    let mut b = Vec::new();
    put_i64(&mut b, 0); // base offset
    put_i32(&mut b, (4 + 1 + 4 + tail.len()) as i32); // batch length: from the leader epoch on
    put_i32(&mut b, -1); // partition leader epoch
    b.push(2); // magic
    b.extend(crc32c(&tail).to_be_bytes());
    b.extend(tail);
    b
}

/// A record as read back: its offset and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub offset: i64,
    pub value: Option<Vec<u8>>,
}

/// The records of a fetched record set (RecordBatch v2 only, uncompressed; a partial batch
/// at the end, which brokers may send, is dropped). Each batch's CRC is checked.
pub fn parse_records(mut set: &[u8]) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    while set.len() >= 12 {
        let base = i64::from_be_bytes(set[..8].try_into()?);
        let len = i32::from_be_bytes(set[8..12].try_into()?);
        if len < 0 {
            bail!("negative batch length {len}");
        }
        let end = 12 + len as usize;
        if set.len() < end {
            break; // partial batch
        }
        let batch = &set[12..end];
        set = &set[end..];
        let mut r = Reader { b: batch, at: 0 };
        let _epoch = r.i32()?;
        let magic = r.i8()?;
        if magic != 2 {
            bail!("message format v{magic}: only RecordBatch v2 is read");
        }
        let crc = r.i32()? as u32;
        if crc32c(&batch[r.at..]) != crc {
            bail!("batch at offset {base}: CRC32C mismatch");
        }
        let attributes = r.i16()?;
        if attributes & 0x07 != 0 {
            bail!("batch at offset {base} is compressed (attributes {attributes:#x})");
        }
        let _last_delta = r.i32()?;
        r.take(8 + 8 + 8 + 2 + 4)?; // timestamps, producer id/epoch, base sequence
        let n = r.count("record")?;
        for _ in 0..n {
            let len = r.varint()?;
            let len = usize::try_from(len).map_err(|_| anyhow!("negative record length"))?;
            let body = r.take(len)?;
            let mut rr = Reader { b: body, at: 0 };
            let _attr = rr.i8()?;
            let _ts = rr.varint()?;
            let delta = rr.varint()?;
            let klen = rr.varint()?;
            if klen > 0 {
                rr.take(klen as usize)?;
            }
            let vlen = rr.varint()?;
            let value = if vlen < 0 {
                None
            } else {
                Some(rr.take(vlen as usize)?.to_vec())
            };
            out.push(Record {
                offset: base + delta,
                value,
            });
        }
    }
    Ok(out)
}

/// CreateTopics v2: one topic with an explicit assignment (partition i → `replicas[i]`, the
/// first its preferred leader), the topic's configuration left to the brokers' defaults.
pub fn create_topics_body(topic: &str, replicas: &[Vec<i32>], timeout_ms: i32) -> Vec<u8> {
    let mut b = Vec::new();
    put_i32(&mut b, 1);
    put_string(&mut b, topic);
    put_i32(&mut b, -1); // partitions: from the assignment
    put_i16(&mut b, -1); // replication factor: from the assignment
    put_i32(&mut b, replicas.len() as i32);
    for (i, r) in replicas.iter().enumerate() {
        put_i32(&mut b, i as i32);
        put_i32(&mut b, r.len() as i32);
        for id in r {
            put_i32(&mut b, *id);
        }
    }
    put_i32(&mut b, 0); // no configs
    put_i32(&mut b, timeout_ms);
    b.push(0); // validate only: no
    b
}

/// A CreateTopics v2 response: per topic (name, error code, message).
pub fn parse_create_topics(body: &[u8]) -> Result<Vec<(String, i16, Option<String>)>> {
    let mut r = Reader { b: body, at: 0 };
    let _throttle = r.i32()?;
    let mut out = Vec::new();
    for _ in 0..r.count("topic")? {
        let name = r.string()?.unwrap_or_default();
        let code = r.i16()?;
        let msg = r.string()?;
        out.push((name, code, msg));
    }
    Ok(out)
}

/// DeleteTopics v1: the topics, the time the controller may take.
pub fn delete_topics_body(topics: &[&str], timeout_ms: i32) -> Vec<u8> {
    let mut b = Vec::new();
    put_i32(&mut b, topics.len() as i32);
    for t in topics {
        put_string(&mut b, t);
    }
    put_i32(&mut b, timeout_ms);
    b
}

/// A DeleteTopics v1 response: per topic (name, error code).
pub fn parse_delete_topics(body: &[u8]) -> Result<Vec<(String, i16)>> {
    let mut r = Reader { b: body, at: 0 };
    let _throttle = r.i32()?;
    let mut out = Vec::new();
    for _ in 0..r.count("topic")? {
        let name = r.string()?.unwrap_or_default();
        out.push((name, r.i16()?));
    }
    Ok(out)
}

/// Produce v3: one record set to one partition, `acks` (-1: all in-sync replicas).
pub fn produce_body(
    topic: &str,
    partition: i32,
    acks: i16,
    timeout_ms: i32,
    batch: &[u8],
) -> Vec<u8> {
    let mut b = Vec::new();
    put_i16(&mut b, -1); // no transactional id
    put_i16(&mut b, acks);
    put_i32(&mut b, timeout_ms);
    put_i32(&mut b, 1);
    put_string(&mut b, topic);
    put_i32(&mut b, 1);
    put_i32(&mut b, partition);
    put_i32(&mut b, batch.len() as i32);
    b.extend_from_slice(batch);
    b
}

/// A Produce v3 response: per partition (topic, partition, error code, base offset).
pub fn parse_produce(body: &[u8]) -> Result<Vec<(String, i32, i16, i64)>> {
    let mut r = Reader { b: body, at: 0 };
    let mut out = Vec::new();
    for _ in 0..r.count("topic")? {
        let topic = r.string()?.unwrap_or_default();
        for _ in 0..r.count("partition")? {
            let p = r.i32()?;
            let code = r.i16()?;
            let offset = r.i64()?;
            let _append_time = r.i64()?;
            out.push((topic.clone(), p, code, offset));
        }
    }
    Ok(out)
}

/// Fetch v4 (as a consumer, read uncommitted): one partition from `offset`.
pub fn fetch_body(topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> Vec<u8> {
    let mut b = Vec::new();
    put_i32(&mut b, -1); // replica id: a consumer
    put_i32(&mut b, max_wait_ms);
    put_i32(&mut b, 1); // min bytes
    put_i32(&mut b, 1 << 20); // max bytes
    b.push(0); // isolation: read uncommitted
    put_i32(&mut b, 1);
    put_string(&mut b, topic);
    put_i32(&mut b, 1);
    put_i32(&mut b, partition);
    put_i64(&mut b, offset);
    put_i32(&mut b, 1 << 20);
    b
}

/// One partition of a Fetch v4 response.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub topic: String,
    pub partition: i32,
    pub error: i16,
    pub high_watermark: i64,
    pub records: Vec<Record>,
}

pub fn parse_fetch(body: &[u8]) -> Result<Vec<Fetched>> {
    let mut r = Reader { b: body, at: 0 };
    let _throttle = r.i32()?;
    let mut out = Vec::new();
    for _ in 0..r.count("topic")? {
        let topic = r.string()?.unwrap_or_default();
        for _ in 0..r.count("partition")? {
            let partition = r.i32()?;
            let error = r.i16()?;
            let high_watermark = r.i64()?;
            let _last_stable = r.i64()?;
            let aborted = r.i32()?;
            if aborted > 0 {
                if aborted as usize > (r.b.len() - r.at) / 16 {
                    bail!("implausible aborted transaction count {aborted}");
                }
                r.take(16 * aborted as usize)?;
            }
            let n = r.i32()?;
            let records = if n <= 0 {
                Vec::new()
            } else {
                parse_records(r.take(n as usize)?)?
            };
            out.push(Fetched {
                topic: topic.clone(),
                partition,
                error,
                high_watermark,
                records,
            });
        }
    }
    Ok(out)
}

/// A Metadata v1 request for the named topics only (an empty list would mean none; never
/// `null`, which asks for every topic). Note that a broker with `auto.create.topics.enable`
/// creates a topic it is asked about: ask only for a topic that exists.
pub fn metadata_body(topics: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    put_i32(&mut b, topics.len() as i32);
    for t in topics {
        put_string(&mut b, t);
    }
    b
}

/// The largest response the smoke calls accept.
const MAX_RESPONSE: usize = 16 << 20;

/// One connection to one broker: a request, its response (correlation checked), each within
/// the client's timeout.
pub struct Client {
    conn: crate::remote::probe::Conn,
    pub addr: String,
    correlation: i32,
    timeout: Duration,
}

impl Client {
    pub fn connect(addr: &str, timeout: Duration) -> Result<Client> {
        Ok(Client {
            conn: crate::remote::probe::connect(addr, timeout)?,
            addr: addr.to_string(),
            correlation: 100,
            timeout,
        })
    }

    /// The response body (after the correlation id) to `body` as `api_key` `version`.
    pub fn call(&mut self, api_key: i16, version: i16, body: &[u8]) -> Result<Vec<u8>> {
        let deadline = Instant::now() + self.timeout;
        self.correlation += 1;
        let c = self.correlation;
        self.conn
            .write_all(&frame_request(api_key, version, c, body))
            .with_context(|| format!("{}: sending request {api_key} v{version}", self.addr))?;
        let len = crate::remote::probe::read_until(&mut self.conn, Some(4), 4, deadline)
            .with_context(|| {
                format!("{}: no response to request {api_key} v{version}", self.addr)
            })?;
        let len = i32::from_be_bytes(len[..4].try_into()?);
        let len = usize::try_from(len)
            .ok()
            .filter(|n| (4..=MAX_RESPONSE).contains(n))
            .ok_or_else(|| anyhow!("{}: implausible response length {len}", self.addr))?;
        let mut resp = crate::remote::probe::read_until(&mut self.conn, Some(len), len, deadline)
            .with_context(|| format!("{}: short response", self.addr))?;
        if i32::from_be_bytes(resp[..4].try_into()?) != c {
            bail!("{}: response for another request", self.addr);
        }
        Ok(resp.split_off(4))
    }

    pub fn metadata(&mut self, topics: &[&str]) -> Result<Metadata> {
        let mut body = self.call(API_METADATA, 1, &metadata_body(topics))?;
        // parse_metadata wants the correlation id first.
        let mut full = 0i32.to_be_bytes().to_vec();
        full.append(&mut body);
        parse_metadata(&full, 0).with_context(|| format!("{}: Metadata response", self.addr))
    }
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

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn crc32c_and_varints_match_the_reference_values() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        for (v, want) in [
            (0i64, vec![0u8]),
            (-1, vec![1]),
            (1, vec![2]),
            (300, vec![0xd8, 0x04]),
            (i64::MIN, vec![0xff; 9].into_iter().chain([1]).collect()),
        ] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b, want, "{v}");
            assert_eq!(Reader { b: &b, at: 0 }.varint().unwrap(), v);
        }
        assert!(Reader {
            b: &[0x80; 11],
            at: 0
        }
        .varint()
        .is_err());
    }

    /// RecordBatch v2 with the value "hi" at timestamp 0x0102030405060708, laid out (and its
    /// CRC32C computed bitwise) by hand, apart from this code.
    const BATCH_HI: &str = "00000000000000000000003affffffff02c104127c00000000000001020304050607080102030405060708ffffffffffffffffffffffffffff00000001100000000104686900";

    #[test]
    fn a_record_batch_is_encoded_byte_for_byte_and_read_back() {
        let b = record_batch(b"hi", 0x0102_0304_0506_0708);
        assert_eq!(hex::encode(&b), BATCH_HI);
        let recs = parse_records(&b).unwrap();
        assert_eq!(
            recs,
            vec![Record {
                offset: 0,
                value: Some(b"hi".to_vec())
            }]
        );
        // At base offset 41, followed by a partial batch (dropped, as brokers may send it).
        let mut at41 = b.clone();
        at41[..8].copy_from_slice(&41i64.to_be_bytes());
        at41.extend_from_slice(&b[..30]);
        assert_eq!(parse_records(&at41).unwrap()[0].offset, 41);
        assert_eq!(parse_records(&at41).unwrap().len(), 1);
        // A flipped bit fails the CRC; an old magic and a compressed batch are refused.
        let mut bad = b.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(format!("{:#}", parse_records(&bad).unwrap_err()).contains("CRC32C"));
        let mut old = b.clone();
        old[16] = 1;
        assert!(format!("{:#}", parse_records(&old).unwrap_err()).contains("v1"));
        let mut gz = b.clone();
        gz[22] = 1; // attributes (low byte): gzip
        let crc = crc32c(&gz[21..]);
        gz[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(format!("{:#}", parse_records(&gz).unwrap_err()).contains("compressed"));
    }

    #[test]
    fn admin_requests_are_encoded_and_their_answers_decoded() {
        // CreateTopics v2: "t", partition 0 on [1, 2], partition 1 on [2, 1], 1 s.
        assert_eq!(
            hex::encode(create_topics_body("t", &[vec![1, 2], vec![2, 1]], 1000)),
            concat!(
                "00000001", "00017", "4", "ffffffff", "ffff", "00000002", "00000000", "00000002",
                "00000001", "00000002", "00000001", "00000002", "00000002", "00000001", "00000000",
                "000003e8", "00"
            )
        );
        // throttle 0; [("t", 38 INVALID_REPLICATION_FACTOR, "x")]
        let answer = unhex("00000000000000010001740026000178");
        let r = parse_create_topics(&answer).unwrap();
        assert_eq!(r, vec![("t".to_string(), 38, Some("x".to_string()))]);
        assert_eq!(error_text(38), "INVALID_REPLICATION_FACTOR (38)");
        assert!(parse_create_topics(&answer[..9]).is_err());
        // DeleteTopics v1.
        assert_eq!(
            hex::encode(delete_topics_body(&["t"], 500)),
            "00000001000174000001f4"
        );
        let r = parse_delete_topics(&unhex("000000000000000100017400")).unwrap_err();
        assert!(format!("{r:#}").contains("short"), "{r:#}");
        assert_eq!(
            parse_delete_topics(&unhex("00000000000000010001740003")).unwrap(),
            vec![("t".to_string(), 3)]
        );
        assert_eq!(hex::encode(metadata_body(&["t"])), "00000001000174");
        assert_eq!(hex::encode(metadata_body(&[])), "00000000");
    }

    #[test]
    fn produce_and_fetch_are_encoded_and_their_answers_decoded() {
        let batch = unhex(BATCH_HI);
        let p = produce_body("t", 2, -1, 3000, &batch);
        assert_eq!(
            hex::encode(&p[..27]),
            concat!(
                "ffff", "ffff", "00000bb8", "00000001", "000174", "00000001", "00000002",
                "00000046"
            )
        );
        assert_eq!(&p[27..], &batch[..]);
        // [("t", [(2, NOT_ENOUGH_REPLICAS, -1, -1)])], throttle 0
        let answer = unhex(concat!(
            "000000010001740000000100000002",
            "0013",
            "ffffffffffffffff",
            "ffffffffffffffff",
            "00000000"
        ));
        assert_eq!(
            parse_produce(&answer[..answer.len() - 4]).unwrap(),
            vec![("t".to_string(), 2, 19, -1)]
        );
        assert_eq!(error_name(19), "NOT_ENOUGH_REPLICAS");
        assert_eq!(
            hex::encode(fetch_body("t", 2, 7, 500)),
            concat!(
                "ffffffff",
                "000001f4",
                "00000001",
                "00100000",
                "00",
                "00000001",
                "000174",
                "00000001",
                "00000002",
                "0000000000000007",
                "00100000"
            )
        );
        // throttle 0; "t" partition 2, no error, high watermark 1, LSO 1, no aborted (null),
        // the batch above.
        let mut answer = unhex(
            "00000000000000010001740000000100000002000000000000000000010000000000000001ffffffff",
        );
        answer.extend((batch.len() as i32).to_be_bytes());
        answer.extend(&batch);
        let f = parse_fetch(&answer).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].partition, f[0].error, f[0].high_watermark), (2, 0, 1));
        assert_eq!(f[0].records[0].value.as_deref(), Some(&b"hi"[..]));
        // An error partition with null records.
        let answer = unhex("000000000000000100017400000001000000020006ffffffffffffffffffffffffffffffffffffffffffffffff");
        let f = parse_fetch(&answer).unwrap();
        assert_eq!((f[0].error, f[0].records.len()), (6, 0));
        // A hostile aborted-transactions count is refused.
        let answer = unhex(
            "000000000000000100017400000001000000020000000000000000000100000000000000017fffffff",
        );
        assert!(parse_fetch(&answer).is_err());
    }

    #[test]
    fn requests_carry_the_v1_header() {
        let r = frame_request(API_PRODUCE, 3, 9, &[0xaa]);
        assert_eq!(
            hex::encode(&r),
            concat!(
                "00000019",
                "0000",
                "0003",
                "00000009",
                "000e",
                "737461636b63746c2d736d6f6b65",
                "aa"
            )
        );
    }
}
