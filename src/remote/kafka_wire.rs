//! Just enough of the Kafka protocol for `verify` and the rolling-restart gate: a Metadata
//! request (API key 3, version 4 for 0.11 to 4.x, which never auto-creates a topic and
//! carries the cluster id, and version 1 again for a 0.10 broker that closes the connection
//! on v4; Kafka 4.0 still answers v0 to v3 too, KAFKA-18663) that returns the
//! brokers the cluster knows, its controller, its cluster id and, when asked, every
//! partition's leader, replicas and in-sync replicas. And for `verify --smoke`: create a topic,
//! produce, fetch, delete. For KRaft: ApiVersions v3 (finalized `metadata.version`) and
//! DescribeQuorum (the metadata quorum's leader and voters), in flexible versions.

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
    /// The cluster id the broker reports (Metadata v2+); `None` from a v1 answer.
    pub cluster_id: Option<String>,
}

/// `all_topics`: a null topic array (every topic); else an empty one (none). Metadata
/// `version` 1 or 4 (v4 adds `allow_auto_topic_creation`, sent false).
fn request_topics_v(correlation: i32, all_topics: bool, version: i16) -> Vec<u8> {
    let client = b"stackctl-verify";
    let mut body = Vec::new();
    body.extend(3i16.to_be_bytes()); // api_key: Metadata
    body.extend(version.to_be_bytes()); // api_version
    body.extend(correlation.to_be_bytes());
    body.extend((client.len() as i16).to_be_bytes());
    body.extend(client);
    // topics: an empty array asks for none (v1); null (-1) for all.
    body.extend(if all_topics { -1i32 } else { 0i32 }.to_be_bytes());
    if version >= 4 {
        body.push(0); // allow_auto_topic_creation: no
    }
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
    parse_metadata_v(body, correlation, 1)
}

/// Parses a Metadata response of `version` 1 to 4 (after the length prefix): v2 adds the
/// cluster id after the brokers, v3 the throttle time before them; v4 answers as v3.
pub fn parse_metadata_v(body: &[u8], correlation: i32, version: i16) -> Result<Metadata> {
    if !(1..=4).contains(&version) {
        bail!("Metadata v{version} is not read (only v1 to v4)");
    }
    let mut r = Reader { b: body, at: 0 };
    if r.i32()? != correlation {
        bail!("Metadata response for another request");
    }
    if version >= 3 {
        let _throttle = r.i32()?;
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
    let cluster_id = if version >= 2 { r.string()? } else { None };
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
        cluster_id,
    })
}

/// Asks one broker for the cluster's brokers and controller, all within `timeout`: Metadata
/// v4 (0.11 and later, 4.0 included), and v1 again on a fresh connection when the broker
/// closes the connection unanswered (0.10.x, which has no v4). In KRaft mode `controller` is
/// a random live broker (KRaftMetadataCache), not the active controller: DescribeQuorum
/// tells that.
pub fn metadata(addr: &str, timeout: Duration) -> Result<Metadata> {
    fetch_auto(addr, timeout, false, 1 << 20)
}

/// The same, with every topic's partitions (leaders, replicas, in-sync replicas).
pub fn metadata_all(addr: &str, timeout: Duration) -> Result<Metadata> {
    fetch_auto(addr, timeout, true, 64 << 20)
}

/// Metadata `version` 1 or 4 exactly (no fallback); `all_topics` as in `metadata_all`.
pub fn metadata_v(
    addr: &str,
    timeout: Duration,
    all_topics: bool,
    version: i16,
) -> Result<Metadata> {
    let cap = if all_topics { 64 << 20 } else { 1 << 20 };
    fetch(addr, timeout, all_topics, cap, version)
}

fn fetch_auto(addr: &str, timeout: Duration, all_topics: bool, cap: i32) -> Result<Metadata> {
    match fetch(addr, timeout, all_topics, cap, 4) {
        Err(e) if closed_unanswered(&e) => fetch(addr, timeout, all_topics, cap, 1)
            .with_context(|| format!("{addr}: closed the connection on Metadata v4, then v1")),
        r => r,
    }
}

/// Whether a request failed because the peer closed the connection before any byte of an
/// answer: what a Kafka broker does with a request version it does not know.
pub fn closed_unanswered(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.to_string().starts_with("connection closed after 0 bytes")
            || c.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                )
            })
    })
}

fn fetch(
    addr: &str,
    timeout: Duration,
    all_topics: bool,
    cap: i32,
    version: i16,
) -> Result<Metadata> {
    let deadline = Instant::now() + timeout;
    let mut s = crate::remote::probe::connect(addr, timeout)?;
    let correlation = 7;
    s.write_all(&request_topics_v(correlation, all_topics, version))?;
    let len = crate::remote::probe::read_until(&mut s, Some(4), 4, deadline)
        .with_context(|| format!("{addr}: no Metadata response"))?;
    let len = i32::from_be_bytes(len[..4].try_into()?);
    if !(0..=cap).contains(&len) {
        bail!("{addr}: implausible response length {len}");
    }
    let body = crate::remote::probe::read_until(&mut s, Some(len as usize), len as usize, deadline)
        .with_context(|| format!("{addr}: short Metadata response"))?;
    parse_metadata_v(&body, correlation, version)
        .with_context(|| format!("{addr}: Metadata v{version} response"))
}

// ---- `verify --smoke`: CreateTopics v2, Produce v3, Fetch v4, DeleteTopics v1 (every broker
// from 2.0 to 4.0 accepts them: the lowest 4.0 kept, KIP-896; none is a "flexible" version), a Metadata v1 request for named
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
        77 => "STALE_BROKER_EPOCH",
        94 => "INCONSISTENT_VOTER_SET",
        95 => "INVALID_UPDATE_VERSION",
        96 => "FEATURE_UPDATE_FAILED",
        101 => "DUPLICATE_BROKER_REGISTRATION",
        102 => "BROKER_ID_NOT_REGISTERED",
        104 => "INCONSISTENT_CLUSTER_ID",
        116 => "UNKNOWN_CONTROLLER_ID",
        125 => "INVALID_VOTER_KEY",
        126 => "DUPLICATE_VOTER",
        127 => "VOTER_NOT_FOUND",
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
    /// 4, or 1 once a broker closed the connection on v4.
    metadata_version: i16,
}

impl Client {
    pub fn connect(addr: &str, timeout: Duration) -> Result<Client> {
        Ok(Client {
            conn: crate::remote::probe::connect(addr, timeout)?,
            addr: addr.to_string(),
            correlation: 100,
            timeout,
            metadata_version: 4,
        })
    }

    /// The response body (after the correlation id) to `body` as `api_key` `version`.
    pub fn call(&mut self, api_key: i16, version: i16, body: &[u8]) -> Result<Vec<u8>> {
        self.correlation += 1;
        let c = self.correlation;
        let frame = frame_request(api_key, version, c, body);
        self.exchange(api_key, version, c, &frame)
    }

    /// A flexible version's request (header v2) and its response body after the response
    /// header: v1 (correlation id, tagged fields), but v0 for ApiVersions, whatever version.
    pub fn call_flexible(&mut self, api_key: i16, version: i16, body: &[u8]) -> Result<Vec<u8>> {
        self.correlation += 1;
        let c = self.correlation;
        let frame = frame_request_flexible(api_key, version, c, body);
        let resp = self.exchange(api_key, version, c, &frame)?;
        if api_key == API_API_VERSIONS {
            return Ok(resp);
        }
        let mut r = Reader { b: &resp, at: 0 };
        r.skip_tagged()
            .with_context(|| format!("{}: response header", self.addr))?;
        Ok(resp[r.at..].to_vec())
    }

    /// Sends `frame` (correlation id `c`) and reads its answer, after the correlation id.
    fn exchange(&mut self, api_key: i16, version: i16, c: i32, frame: &[u8]) -> Result<Vec<u8>> {
        let deadline = Instant::now() + self.timeout;
        self.conn
            .write_all(frame)
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

    /// Metadata for the named topics: v4 (which never auto-creates them), or v1 on a fresh
    /// connection when the broker closes this one on v4 (0.10.x); the version that worked is
    /// kept for the client's later calls.
    pub fn metadata(&mut self, topics: &[&str]) -> Result<Metadata> {
        match self.metadata_v(topics, self.metadata_version) {
            Err(e) if self.metadata_version == 4 && closed_unanswered(&e) => {
                self.conn = crate::remote::probe::connect(&self.addr, self.timeout)?;
                self.metadata_version = 1;
                self.metadata_v(topics, 1)
            }
            r => r,
        }
    }

    /// Metadata `version` (1 to 4) for the named topics, no fallback.
    pub fn metadata_v(&mut self, topics: &[&str], version: i16) -> Result<Metadata> {
        let mut req = metadata_body(topics);
        if version >= 4 {
            req.push(0); // allow_auto_topic_creation: no
        }
        let mut body = self.call(API_METADATA, version, &req)?;
        // parse_metadata wants the correlation id first.
        let mut full = 0i32.to_be_bytes().to_vec();
        full.append(&mut body);
        parse_metadata_v(&full, 0, version)
            .with_context(|| format!("{}: Metadata v{version} response", self.addr))
    }
}

// ---- KRaft: flexible versions (KIP-482): request header v2 (the client id keeps its int16
// length, then tagged fields), response header v1 (correlation id, tagged fields; ApiVersions
// answers with header v0 whatever its version), unsigned varints, compact strings and arrays
// (length + 1, 0 for null) and a tagged-field section after every struct. ApiVersions v3
// (what the server runs, its finalized features: `metadata.version`) and DescribeQuorum (the
// metadata quorum's leader, epoch, high watermark, voters and observers).

pub const API_API_VERSIONS: i16 = 18;
pub const API_DESCRIBE_QUORUM: i16 = 55;

/// The KRaft metadata log: the only topic DescribeQuorum describes.
pub const CLUSTER_METADATA_TOPIC: &str = "__cluster_metadata";

impl<'a> Reader<'a> {
    /// Like `take`, borrowing the input rather than the reader.
    fn slice(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| anyhow!("short Kafka response"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn left(&self) -> usize {
        self.b.len() - self.at
    }
    /// An unsigned varint of at most 5 bytes (32 bits).
    fn uvarint(&mut self) -> Result<u32> {
        let mut v = 0u64;
        for i in 0..5 {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return u32::try_from(v).map_err(|_| anyhow!("unsigned varint above 32 bits"));
            }
        }
        bail!("unsigned varint longer than 5 bytes")
    }
    /// A compact array's element count (`None`: null). Every element takes at least
    /// `min_size` bytes: a count above what is left is garbage.
    fn compact_count(&mut self, what: &str, min_size: usize) -> Result<Option<usize>> {
        let n = self.uvarint()? as usize;
        if n == 0 {
            return Ok(None);
        }
        let n = n - 1;
        if n > self.left() / min_size.max(1) {
            bail!("implausible {what} count {n}");
        }
        Ok(Some(n))
    }
    fn compact_string(&mut self) -> Result<Option<String>> {
        let n = self.uvarint()? as usize;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(
            String::from_utf8_lossy(self.slice(n - 1)?).into_owned(),
        ))
    }
    /// A tagged-field section: (tag, value bytes) in order.
    fn tagged(&mut self) -> Result<Vec<(u32, &'a [u8])>> {
        let n = self.uvarint()? as usize;
        // Each field takes at least 2 bytes (tag, size).
        if n > self.left() / 2 {
            bail!("implausible tagged field count {n}");
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            out.push((tag, self.slice(size)?));
        }
        Ok(out)
    }
    fn skip_tagged(&mut self) -> Result<()> {
        self.tagged().map(drop)
    }
}

/// Unsigned varint (flexible versions' lengths and tags).
fn put_uvarint(b: &mut Vec<u8>, mut v: u32) {
    loop {
        if v < 0x80 {
            b.push(v as u8);
            return;
        }
        b.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
}
fn put_compact_string(b: &mut Vec<u8>, s: &str) {
    put_uvarint(b, s.len() as u32 + 1);
    b.extend(s.as_bytes());
}
/// A compact array's length (elements follow).
fn put_compact_len(b: &mut Vec<u8>, n: usize) {
    put_uvarint(b, n as u32 + 1);
}
/// An empty tagged-field section.
fn put_no_tags(b: &mut Vec<u8>) {
    b.push(0);
}

/// A whole request of a flexible version: size, header v2 (api key, version, correlation id,
/// client id with its int16 length, no tagged fields), `body`.
pub fn frame_request_flexible(
    api_key: i16,
    version: i16,
    correlation: i32,
    body: &[u8],
) -> Vec<u8> {
    let mut h = Vec::new();
    put_i16(&mut h, api_key);
    put_i16(&mut h, version);
    put_i32(&mut h, correlation);
    put_string(&mut h, "stackctl");
    put_no_tags(&mut h);
    h.extend_from_slice(body);
    let mut out = (h.len() as i32).to_be_bytes().to_vec();
    out.extend(h);
    out
}

/// Splits a response (after its size) into its correlation id and its body: after the tagged
/// fields with header v1 (`flexible`), right after the id with header v0.
pub fn split_response_header(frame: &[u8], flexible: bool) -> Result<(i32, &[u8])> {
    let mut r = Reader { b: frame, at: 0 };
    let c = r.i32()?;
    if flexible {
        r.skip_tagged()?;
    }
    Ok((c, &frame[r.at..]))
}

/// What a server said to ApiVersions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiVersions {
    /// (api key, min version, max version), as the server listed them.
    pub apis: Vec<(i16, i16, i16)>,
    /// Cluster-wide finalized features: (name, min level, max level); `metadata.version`'s
    /// max level is the cluster's metadata version (see `metadata_version_name`).
    pub finalized: Vec<(String, i16, i16)>,
    /// Features this server supports: (name, min, max).
    pub supported: Vec<(String, i16, i16)>,
    /// -1 when unknown (no finalized features, or a v0 answer).
    pub finalized_epoch: i64,
    /// The version the answer was read as: 3, or 0 when the server does not know v3 (it
    /// answers UNSUPPORTED_VERSION in v0's layout with its API list, brokers before 2.4).
    pub version: i16,
}

impl ApiVersions {
    /// The range the server accepts for `api_key`, if it lists it.
    pub fn range(&self, api_key: i16) -> Option<(i16, i16)> {
        self.apis
            .iter()
            .find(|(k, _, _)| *k == api_key)
            .map(|(_, lo, hi)| (*lo, *hi))
    }
    /// Whether the server accepts `api_key` at `version`.
    pub fn accepts(&self, api_key: i16, version: i16) -> bool {
        self.range(api_key)
            .is_some_and(|(lo, hi)| (lo..=hi).contains(&version))
    }
    /// A finalized feature's max level (`metadata.version`, `kraft.version`, ...).
    pub fn finalized_level(&self, feature: &str) -> Option<i16> {
        self.finalized
            .iter()
            .find(|(n, _, _)| n == feature)
            .map(|(_, _, max)| *max)
    }
    /// `metadata.version`'s finalized level (KRaft clusters only).
    pub fn metadata_version(&self) -> Option<i16> {
        self.finalized_level("metadata.version")
    }
}

/// ApiVersions v3's body: the client software's name and version.
pub fn api_versions_body(name: &str, version: &str) -> Vec<u8> {
    let mut b = Vec::new();
    put_compact_string(&mut b, name);
    put_compact_string(&mut b, version);
    put_no_tags(&mut b);
    b
}

/// A (name, a, b) feature list of ApiVersions v3's tagged fields.
fn parse_features(v: &[u8]) -> Result<Vec<(String, i16, i16)>> {
    let mut r = Reader { b: v, at: 0 };
    let mut out = Vec::new();
    // name (1 byte at least), two int16, tags.
    for _ in 0..r.compact_count("feature", 6)?.unwrap_or(0) {
        let name = r.compact_string()?.unwrap_or_default();
        let a = r.i16()?;
        let b = r.i16()?;
        r.skip_tagged()?;
        out.push((name, a, b));
    }
    Ok(out)
}

/// Parses an ApiVersions response body (after the correlation id: header v0) to a v3
/// request. An error other than UNSUPPORTED_VERSION is refused with its name; that one comes
/// in v0's layout (int16 error, int32 count, entries; v1+ add a throttle time) and is read so.
pub fn parse_api_versions(body: &[u8]) -> Result<ApiVersions> {
    let mut r = Reader { b: body, at: 0 };
    let code = r.i16()?;
    let mut out = ApiVersions {
        finalized_epoch: -1,
        ..ApiVersions::default()
    };
    if code == 35 {
        for _ in 0..r.count("api")? {
            out.apis.push((r.i16()?, r.i16()?, r.i16()?));
        }
        return Ok(out);
    }
    if code != 0 {
        bail!("ApiVersions: {}", error_text(code));
    }
    out.version = 3;
    // key, min, max, tags: 7 bytes at least.
    for _ in 0..r.compact_count("api", 7)?.unwrap_or(0) {
        let key = r.i16()?;
        let lo = r.i16()?;
        let hi = r.i16()?;
        r.skip_tagged()?;
        out.apis.push((key, lo, hi));
    }
    let _throttle = r.i32()?;
    for (tag, v) in r.tagged()? {
        match tag {
            0 => out.supported = parse_features(v).context("SupportedFeatures")?,
            1 => {
                out.finalized_epoch = Reader { b: v, at: 0 }
                    .i64()
                    .context("FinalizedFeaturesEpoch")?
            }
            // FinalizedFeatures: name, max level, min level.
            2 => {
                out.finalized = parse_features(v)
                    .context("FinalizedFeatures")?
                    .into_iter()
                    .map(|(n, max, min)| (n, min, max))
                    .collect()
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The release a `metadata.version` feature level stands for (MetadataVersion.java: level 1
/// is 3.0-IV1, the first KRaft one), `None` for a level these tables do not know.
pub fn metadata_version_name(level: i16) -> Option<&'static str> {
    const NAMES: [&str; 25] = [
        "3.0-IV1", "3.1-IV0", "3.2-IV0", "3.3-IV0", "3.3-IV1", "3.3-IV2", "3.3-IV3", "3.4-IV0",
        "3.5-IV0", "3.5-IV1", "3.5-IV2", "3.6-IV0", "3.6-IV1", "3.6-IV2", "3.7-IV0", "3.7-IV1",
        "3.7-IV2", "3.7-IV3", "3.7-IV4", "3.8-IV0", "3.9-IV0", "4.0-IV0", "4.0-IV1", "4.0-IV2",
        "4.0-IV3",
    ];
    usize::try_from(level)
        .ok()
        .and_then(|l| l.checked_sub(1))
        .and_then(|i| NAMES.get(i).copied())
}

impl ApiVersions {
    /// The highest `metadata.version` level this node supports, and the release line that level
    /// names ("3.9" for 3.9-IV0): a release supports up to its own latest level, so this is the
    /// release the node runs, as it reports it. The line is None for a level newer than the table.
    pub fn release_line(&self) -> Option<(i16, Option<&'static str>)> {
        let max = self
            .supported
            .iter()
            .find(|(n, _, _)| n == "metadata.version")
            .map(|(_, _, max)| *max)?;
        Some((
            max,
            metadata_version_name(max).and_then(|n| n.split('-').next()),
        ))
    }
}

/// One voter or observer of the metadata quorum.
#[derive(Debug, Clone, PartialEq)]
pub struct QuorumReplica {
    pub id: i32,
    /// -1 when the leader does not know it.
    pub log_end_offset: i64,
    /// Leader's wall clock (ms) at the replica's last fetch; -1 when unknown, for the leader
    /// itself, and in a v0 answer.
    pub last_fetch_timestamp: i64,
    /// Leader's wall clock (ms) when the replica last caught up; -1 when unknown and in a v0
    /// answer.
    pub last_caught_up_timestamp: i64,
}

/// The metadata quorum as its leader describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Quorum {
    /// -1 when unknown.
    pub leader: i32,
    pub epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<QuorumReplica>,
    pub observers: Vec<QuorumReplica>,
    /// The DescribeQuorum version the answer was read as.
    pub version: i16,
}

impl Quorum {
    /// How many records `id` (a voter or an observer) is behind the leader's log end, as
    /// `kafka-metadata-quorum describe --replication` shows it; `None` when either end is
    /// unknown.
    pub fn lag(&self, id: i32) -> Option<i64> {
        let leo = |id: i32| {
            self.voters
                .iter()
                .chain(&self.observers)
                .find(|r| r.id == id)
                .map(|r| r.log_end_offset)
                .filter(|o| *o >= 0)
        };
        Some(leo(self.leader)? - leo(id)?)
    }
}

/// DescribeQuorum's body (any version 0 to 2): `__cluster_metadata` partition 0.
pub fn describe_quorum_body() -> Vec<u8> {
    let mut b = Vec::new();
    put_compact_len(&mut b, 1);
    put_compact_string(&mut b, CLUSTER_METADATA_TOPIC);
    put_compact_len(&mut b, 1);
    put_i32(&mut b, 0);
    put_no_tags(&mut b); // partition
    put_no_tags(&mut b); // topic
    put_no_tags(&mut b); // request
    b
}

fn parse_replicas(r: &mut Reader, version: i16) -> Result<Vec<QuorumReplica>> {
    let mut out = Vec::new();
    // id, log end offset, tags: 13 bytes at least.
    for _ in 0..r.compact_count("replica", 13)?.unwrap_or(0) {
        let id = r.i32()?;
        if version >= 2 {
            r.take(16)?; // replica directory id
        }
        let log_end_offset = r.i64()?;
        let (last_fetch_timestamp, last_caught_up_timestamp) = if version >= 1 {
            (r.i64()?, r.i64()?)
        } else {
            (-1, -1)
        };
        r.skip_tagged()?;
        out.push(QuorumReplica {
            id,
            log_end_offset,
            last_fetch_timestamp,
            last_caught_up_timestamp,
        });
    }
    Ok(out)
}

/// Parses a DescribeQuorum response body of `version` 0 to 2 (after the response header):
/// `__cluster_metadata` partition 0. The top-level and the partition's error codes are
/// refused with their names (and message, v2).
pub fn parse_describe_quorum(body: &[u8], version: i16) -> Result<Quorum> {
    if !(0..=2).contains(&version) {
        bail!("DescribeQuorum v{version} is not read (only v0 to v2)");
    }
    let mut r = Reader { b: body, at: 0 };
    let with_message = |code: i16, msg: Option<String>| match msg.filter(|m| !m.is_empty()) {
        Some(m) => format!("{}: {m}", error_text(code)),
        None => error_text(code),
    };
    let code = r.i16()?;
    let msg = if version >= 2 {
        r.compact_string()?
    } else {
        None
    };
    if code != 0 {
        bail!("DescribeQuorum: {}", with_message(code, msg));
    }
    let mut found = None;
    // name, partitions, tags: 3 bytes at least.
    for _ in 0..r.compact_count("topic", 3)?.unwrap_or(0) {
        let topic = r.compact_string()?.unwrap_or_default();
        // index, error, leader, epoch, watermark, voters, observers, tags: 23 bytes at least.
        for _ in 0..r.compact_count("partition", 23)?.unwrap_or(0) {
            let partition = r.i32()?;
            let code = r.i16()?;
            let msg = if version >= 2 {
                r.compact_string()?
            } else {
                None
            };
            let leader = r.i32()?;
            let epoch = r.i32()?;
            let high_watermark = r.i64()?;
            let voters = parse_replicas(&mut r, version)?;
            let observers = parse_replicas(&mut r, version)?;
            r.skip_tagged()?;
            if topic != CLUSTER_METADATA_TOPIC || partition != 0 || found.is_some() {
                continue;
            }
            if code != 0 {
                bail!(
                    "DescribeQuorum {topic}-{partition}: {}",
                    with_message(code, msg)
                );
            }
            found = Some(Quorum {
                leader,
                epoch,
                high_watermark,
                voters,
                observers,
                version,
            });
        }
        r.skip_tagged()?;
    }
    // v2's Nodes (controllers' listeners) and the tags after them are not needed.
    found.ok_or_else(|| anyhow!("DescribeQuorum: no {CLUSTER_METADATA_TOPIC}-0 in the answer"))
}

impl Client {
    /// ApiVersions v3 (software name `stackctl` and its version).
    pub fn api_versions(&mut self) -> Result<ApiVersions> {
        let body = self.call_flexible(
            API_API_VERSIONS,
            3,
            &api_versions_body("stackctl", env!("CARGO_PKG_VERSION")),
        )?;
        parse_api_versions(&body).with_context(|| format!("{}: ApiVersions response", self.addr))
    }

    /// DescribeQuorum, at v1 when the server lists it (last fetch and caught-up times), else
    /// v0; ApiVersions first, on this connection. A server that does not list DescribeQuorum
    /// (a ZooKeeper-mode broker) is refused with that reason.
    pub fn describe_quorum(&mut self) -> Result<Quorum> {
        let apis = self.api_versions()?;
        let Some((lo, hi)) = apis.range(API_DESCRIBE_QUORUM) else {
            bail!(
                "{}: does not answer DescribeQuorum (not a KRaft node?)",
                self.addr
            );
        };
        let version = hi.min(1);
        if version < lo {
            bail!("{}: DescribeQuorum only from v{lo}", self.addr);
        }
        let body = self.call_flexible(API_DESCRIBE_QUORUM, version, &describe_quorum_body())?;
        parse_describe_quorum(&body, version).with_context(|| self.addr.clone())
    }
}

/// ApiVersions v3 from `addr` within `timeout`.
pub fn api_versions(addr: &str, timeout: Duration) -> Result<ApiVersions> {
    Client::connect(addr, timeout)?.api_versions()
}

/// The metadata quorum as `addr` describes it, within `timeout` per round trip (ApiVersions,
/// then DescribeQuorum). A KRaft controller answers it from the Raft layer when it is the
/// quorum's leader, else NOT_LEADER_OR_FOLLOWER; a KRaft broker forwards it to the active
/// controller.
pub fn describe_quorum(addr: &str, timeout: Duration) -> Result<Quorum> {
    Client::connect(addr, timeout)?.describe_quorum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_framed_as_kafka_expects() {
        let r = request_topics_v(7, false, 1);
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
    // ---- KRaft: flexible versions, against frames real servers sent (tests/fixtures/kafka_wire).

    fn fixture(hex: &str) -> Vec<u8> {
        unhex(hex.trim())
    }

    /// A real response frame, split after its header (v0 for ApiVersions, else v1).
    fn body_of(frame: &[u8], flexible: bool) -> Vec<u8> {
        let (c, body) = split_response_header(frame, flexible).unwrap();
        assert_eq!(c, 42);
        body.to_vec()
    }

    /// Every prefix of `frame` is refused or read, never a panic.
    fn truncations<T>(frame: &[u8], parse: impl Fn(&[u8]) -> Result<T>) {
        for n in 0..frame.len() {
            let _ = parse(&frame[..n]);
        }
    }

    const K39_BROKER_AV3: &str =
        include_str!("../../tests/fixtures/kafka_wire/3.9.2/broker-apiversions_v3.hex");
    const K39_CONTROLLER_AV3: &str =
        include_str!("../../tests/fixtures/kafka_wire/3.9.2/controller-apiversions_v3.hex");
    const K39_BROKER_DQ0: &str =
        include_str!("../../tests/fixtures/kafka_wire/3.9.2/broker-describequorum_v0.hex");
    const K39_BROKER_DQ1: &str =
        include_str!("../../tests/fixtures/kafka_wire/3.9.2/broker-describequorum_v1.hex");
    const K39_BROKER_DQ2: &str =
        include_str!("../../tests/fixtures/kafka_wire/3.9.2/broker-describequorum_v2.hex");
    const K39_CONTROLLER_DQ1: &str =
        include_str!("../../tests/fixtures/kafka_wire/3.9.2/controller-describequorum_v1.hex");
    const K39_BROKER_MD1: &str =
        include_str!("../../tests/fixtures/kafka_wire/3.9.2/broker-metadata_v1.hex");
    const K39_BROKER_MD4: &str =
        include_str!("../../tests/fixtures/kafka_wire/3.9.2/broker-metadata_v4.hex");

    #[test]
    fn flexible_requests_carry_header_v2_and_compact_fields() {
        let r = frame_request_flexible(
            API_API_VERSIONS,
            3,
            9,
            &api_versions_body("stackctl", "0.1.0"),
        );
        assert_eq!(
            hex::encode(&r),
            concat!(
                "00000023",
                "0012",
                "0003",
                "00000009",
                "0008",
                "737461636b63746c",
                "00",
                "09",
                "737461636b63746c",
                "06",
                "302e312e30",
                "00"
            )
        );
        // __cluster_metadata partition 0, as capture.py sends it.
        assert_eq!(
            hex::encode(describe_quorum_body()),
            concat!(
                "02",
                "13",
                "5f5f636c75737465725f6d65746164617461",
                "02",
                "00000000",
                "00",
                "00",
                "00"
            )
        );
        let mut b = Vec::new();
        put_uvarint(&mut b, 300);
        put_uvarint(&mut b, u32::MAX);
        assert_eq!(hex::encode(&b), "ac02ffffffff0f");
        let mut r = Reader { b: &b, at: 0 };
        assert_eq!(
            (r.uvarint().unwrap(), r.uvarint().unwrap()),
            (300, u32::MAX)
        );
        // More than 32 bits, or longer than 5 bytes: refused.
        assert!(Reader {
            b: &[0xff, 0xff, 0xff, 0xff, 0x1f],
            at: 0
        }
        .uvarint()
        .is_err());
        assert!(Reader {
            b: &[0x80; 6],
            at: 0
        }
        .uvarint()
        .is_err());
    }

    #[test]
    fn api_versions_of_a_real_kraft_broker_and_controller_are_read() {
        let b = parse_api_versions(&body_of(&fixture(K39_BROKER_AV3), false)).unwrap();
        assert_eq!(b.version, 3);
        assert_eq!(b.range(API_METADATA), Some((0, 12)));
        assert_eq!(b.range(API_DESCRIBE_QUORUM), Some((0, 2)));
        assert!(b.accepts(API_PRODUCE, 3) && b.accepts(API_FETCH, 4));
        assert!(b.accepts(API_CREATE_TOPICS, 2) && b.accepts(API_DELETE_TOPICS, 1));
        assert_eq!(b.metadata_version(), Some(21));
        assert_eq!(metadata_version_name(21), Some("3.9-IV0"));
        assert!(b.finalized_epoch > 0, "{b:?}");
        assert!(
            b.supported.iter().any(|(n, _, _)| n == "metadata.version"),
            "{b:?}"
        );
        // The controller listener lists the controller's APIs: no Metadata, no Produce.
        let c = parse_api_versions(&body_of(&fixture(K39_CONTROLLER_AV3), false)).unwrap();
        assert_eq!(c.range(API_METADATA), None);
        assert_eq!(c.range(API_DESCRIBE_QUORUM), Some((0, 2)));
        assert_eq!(c.metadata_version(), Some(21));
        for f in [K39_BROKER_AV3, K39_CONTROLLER_AV3] {
            truncations(&fixture(f)[4..], parse_api_versions);
        }
    }

    #[test]
    fn api_versions_unsupported_version_and_errors() {
        // What a broker before 2.4 answers to v3: UNSUPPORTED_VERSION in v0's layout, its APIs.
        let v0 = unhex(concat!(
            "0023", "00000002", "0000", "0000", "0007", "0012", "0000", "0001"
        ));
        let a = parse_api_versions(&v0).unwrap();
        assert_eq!((a.version, a.apis.len()), (0, 2));
        assert_eq!(a.range(API_API_VERSIONS), Some((0, 1)));
        assert_eq!((a.metadata_version(), a.finalized_epoch), (None, -1));
        let e = parse_api_versions(&unhex("001f")).unwrap_err();
        assert!(
            format!("{e:#}").contains("CLUSTER_AUTHORIZATION_FAILED"),
            "{e:#}"
        );
        // v3 without features: the tagged section empty.
        let plain = unhex(concat!("0000", "02", "00030000000400", "00000000", "00"));
        let a = parse_api_versions(&plain).unwrap();
        assert_eq!(a.apis, vec![(3, 0, 4)]);
        assert!(a.finalized.is_empty() && a.finalized_epoch == -1);
        // Finalized features come max level first; they are stored (name, min, max).
        let mut tags = Vec::new();
        put_compact_len(&mut tags, 1);
        put_compact_string(&mut tags, "metadata.version");
        put_i16(&mut tags, 25); // max level
        put_i16(&mut tags, 1); // min level
        put_no_tags(&mut tags);
        let mut f = unhex(concat!("0000", "01", "00000000", "03"));
        f.extend([1, 8]); // tag 1: epoch, 8 bytes
        f.extend(7i64.to_be_bytes());
        f.extend([2, tags.len() as u8]);
        f.extend(&tags);
        f.extend([9, 1, 0xff]); // an unknown tag: skipped
        let a = parse_api_versions(&f).unwrap();
        assert_eq!(a.finalized, vec![("metadata.version".to_string(), 1, 25)]);
        assert_eq!((a.finalized_epoch, a.metadata_version()), (7, Some(25)));
        assert_eq!(metadata_version_name(25), Some("4.0-IV3"));
        assert_eq!(metadata_version_name(1), Some("3.0-IV1"));
        assert_eq!(
            (metadata_version_name(0), metadata_version_name(26)),
            (None, None)
        );
        // A hostile count is refused before anything is allocated.
        let e = parse_api_versions(&unhex("0000ffffffff0f")).unwrap_err();
        assert!(format!("{e:#}").contains("implausible api count"), "{e:#}");
        truncations(&f, parse_api_versions);
    }

    #[test]
    fn describe_quorum_of_a_real_kraft_server_is_read_in_every_version() {
        for (f, v) in [
            (K39_BROKER_DQ0, 0),
            (K39_BROKER_DQ1, 1),
            (K39_BROKER_DQ2, 2),
            (K39_CONTROLLER_DQ1, 1),
        ] {
            let frame = fixture(f);
            let q = parse_describe_quorum(&body_of(&frame, true), v).unwrap();
            assert_eq!((q.leader, q.version), (1, v));
            assert!(q.epoch >= 1 && q.high_watermark > 0, "{q:?}");
            assert_eq!(q.voters.len(), 1);
            assert_eq!(q.voters[0].id, 1);
            assert_eq!(q.lag(1), Some(0));
            // A combined node is a voter, not also an observer.
            assert!(q.observers.is_empty(), "{q:?}");
            assert_eq!(q.voters[0].last_caught_up_timestamp > 0, v >= 1, "{q:?}");
            for n in 0..frame.len() {
                if let Ok((_, b)) = split_response_header(&frame[..n], true) {
                    let _ = parse_describe_quorum(b, v);
                }
            }
        }
        // Read as the wrong version, a real answer is refused, not misread silently.
        assert!(parse_describe_quorum(&body_of(&fixture(K39_BROKER_DQ2), true), 0).is_err());
        assert!(parse_describe_quorum(&[], 3).is_err());
    }

    /// A DescribeQuorum v0 body: `code`, then `__cluster_metadata`-0 with `pcode`, leader 2,
    /// epoch 5, high watermark 100, voters (1, 90), (2, 100), (3, -1), observer (4, 99).
    fn quorum_v0(code: i16, pcode: i16) -> Vec<u8> {
        let mut b = Vec::new();
        put_i16(&mut b, code);
        put_compact_len(&mut b, 1);
        put_compact_string(&mut b, CLUSTER_METADATA_TOPIC);
        put_compact_len(&mut b, 1);
        put_i32(&mut b, 0);
        put_i16(&mut b, pcode);
        put_i32(&mut b, 2);
        put_i32(&mut b, 5);
        put_i64(&mut b, 100);
        for set in [&[(1, 90), (2, 100), (3, -1)][..], &[(4, 99)]] {
            put_compact_len(&mut b, set.len());
            for (id, leo) in set {
                put_i32(&mut b, *id);
                put_i64(&mut b, *leo);
                put_no_tags(&mut b);
            }
        }
        put_no_tags(&mut b);
        put_no_tags(&mut b);
        put_no_tags(&mut b);
        b
    }

    #[test]
    fn describe_quorum_lag_errors_and_garbage() {
        let q = parse_describe_quorum(&quorum_v0(0, 0), 0).unwrap();
        assert_eq!((q.leader, q.epoch, q.high_watermark), (2, 5, 100));
        assert_eq!(
            q.voters.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(
            (q.lag(1), q.lag(2), q.lag(3), q.lag(4), q.lag(9)),
            (Some(10), Some(0), None, Some(1), None)
        );
        assert_eq!(q.voters[0].last_fetch_timestamp, -1);
        let e = parse_describe_quorum(&quorum_v0(0, 6), 0).unwrap_err();
        assert!(
            format!("{e:#}").contains("NOT_LEADER_OR_FOLLOWER (6)"),
            "{e:#}"
        );
        let e = parse_describe_quorum(&quorum_v0(31, 0), 0).unwrap_err();
        assert!(
            format!("{e:#}").contains("CLUSTER_AUTHORIZATION_FAILED"),
            "{e:#}"
        );
        // What a server answers for a partition it does not have: no error at the top.
        let e = parse_describe_quorum(&unhex("00000100"), 0).unwrap_err();
        assert!(
            format!("{e:#}").contains("no __cluster_metadata-0"),
            "{e:#}"
        );
        // v2: the error message is shown.
        let mut v2 = Vec::new();
        put_i16(&mut v2, 42);
        put_compact_string(&mut v2, "bad topic");
        let e = parse_describe_quorum(&v2, 2).unwrap_err();
        assert!(
            format!("{e:#}").contains("INVALID_REQUEST (42): bad topic"),
            "{e:#}"
        );
        // Hostile counts: refused before any allocation.
        let mut bad = quorum_v0(0, 0);
        bad.truncate(2);
        bad.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
        let e = parse_describe_quorum(&bad, 0).unwrap_err();
        assert!(
            format!("{e:#}").contains("implausible topic count"),
            "{e:#}"
        );
        truncations(&quorum_v0(0, 0), |b| parse_describe_quorum(b, 0));
        truncations(&quorum_v0(0, 0), |b| parse_describe_quorum(b, 1));
        // Tagged fields with a size beyond the input.
        assert!(Reader {
            b: &[1, 0, 200],
            at: 0
        }
        .skip_tagged()
        .is_err());
    }

    #[test]
    fn metadata_v4_of_a_real_kraft_broker_carries_the_cluster_id() {
        let frame = fixture(K39_BROKER_MD4);
        let m = parse_metadata_v(&frame, 42, 4).unwrap();
        assert_eq!(m.cluster_id.as_deref(), Some("xGYceXvvTfqxGiB0lVjqnQ"));
        assert_eq!((m.controller, m.brokers.len()), (1, 1));
        assert_eq!(
            (m.brokers[0].host.as_str(), m.brokers[0].port),
            ("127.0.0.1", 19092)
        );
        let m1 = parse_metadata(&fixture(K39_BROKER_MD1), 42).unwrap();
        assert_eq!(m1.cluster_id, None);
        assert_eq!(
            (m1.brokers, m1.controller),
            (m.brokers.clone(), m.controller)
        );
        // Read as v1, a v4 answer is refused or misread; never a panic.
        truncations(&frame, |b| parse_metadata_v(b, 42, 4));
        assert!(parse_metadata_v(&frame, 42, 5).is_err());
        assert_eq!(
            hex::encode(request_topics_v(7, true, 4)),
            "0000001e0003000400000007000f737461636b63746c2d766572696679ffffffff00"
        );
    }
    const K40: [(&str, &str); 8] = [
        (
            "broker-apiversions_v3",
            include_str!("../../tests/fixtures/kafka_wire/4.0.2/broker-apiversions_v3.hex"),
        ),
        (
            "controller-apiversions_v3",
            include_str!("../../tests/fixtures/kafka_wire/4.0.2/controller-apiversions_v3.hex"),
        ),
        (
            "broker-describequorum_v0",
            include_str!("../../tests/fixtures/kafka_wire/4.0.2/broker-describequorum_v0.hex"),
        ),
        (
            "broker-describequorum_v1",
            include_str!("../../tests/fixtures/kafka_wire/4.0.2/broker-describequorum_v1.hex"),
        ),
        (
            "controller-describequorum_v2",
            include_str!("../../tests/fixtures/kafka_wire/4.0.2/controller-describequorum_v2.hex"),
        ),
        (
            "broker-metadata_v1",
            include_str!("../../tests/fixtures/kafka_wire/4.0.2/broker-metadata_v1.hex"),
        ),
        (
            "broker-metadata_v4",
            include_str!("../../tests/fixtures/kafka_wire/4.0.2/broker-metadata_v4.hex"),
        ),
        (
            "controller-describequorum_v1",
            include_str!("../../tests/fixtures/kafka_wire/4.0.2/controller-describequorum_v1.hex"),
        ),
    ];

    fn k40(name: &str) -> Vec<u8> {
        fixture(K40.iter().find(|(n, _)| *n == name).unwrap().1)
    }

    /// Kafka 4.0.2 (combined node 1, cluster ryHNpEtsR7mbpSgDgm1mPA): what it advertises and
    /// answers. It advertises Produce from v0 (KAFKA-18659, for librdkafka) but closes the
    /// connection on v0 to v2; it still answers Metadata v0 to v3 (KAFKA-18663 undeprecated
    /// them); Fetch from v4, CreateTopics from v2, DeleteTopics from v1 (KIP-896).
    #[test]
    fn kafka_4_0_answers_are_read() {
        let b = parse_api_versions(&body_of(&k40("broker-apiversions_v3"), false)).unwrap();
        assert_eq!(b.range(API_PRODUCE), Some((0, 12)));
        assert_eq!(b.range(API_FETCH), Some((4, 17)));
        assert_eq!(b.range(API_METADATA), Some((0, 13)));
        assert_eq!(b.range(API_CREATE_TOPICS), Some((2, 7)));
        assert_eq!(b.range(API_DELETE_TOPICS), Some((1, 6)));
        assert_eq!(b.range(API_DESCRIBE_QUORUM), Some((0, 2)));
        assert_eq!(b.metadata_version(), Some(25));
        assert_eq!(metadata_version_name(25), Some("4.0-IV3"));
        assert_eq!(b.finalized_level("transaction.version"), Some(2));
        assert_eq!(b.finalized_level("group.version"), Some(1));
        let c = parse_api_versions(&body_of(&k40("controller-apiversions_v3"), false)).unwrap();
        assert_eq!(
            (c.range(API_METADATA), c.metadata_version()),
            (None, Some(25))
        );
        for (name, v) in [
            ("broker-describequorum_v0", 0),
            ("broker-describequorum_v1", 1),
            ("controller-describequorum_v1", 1),
            ("controller-describequorum_v2", 2),
        ] {
            let q = parse_describe_quorum(&body_of(&k40(name), true), v).unwrap();
            assert_eq!(
                (q.leader, q.voters.len(), q.lag(1)),
                (1, 1, Some(0)),
                "{name}"
            );
            assert!(
                q.observers.is_empty() && q.high_watermark > 0,
                "{name}: {q:?}"
            );
        }
        let m = parse_metadata_v(&k40("broker-metadata_v4"), 42, 4).unwrap();
        assert_eq!(m.cluster_id.as_deref(), Some("ryHNpEtsR7mbpSgDgm1mPA"));
        let m1 = parse_metadata(&k40("broker-metadata_v1"), 42).unwrap();
        assert_eq!((m1.brokers, m1.controller), (m.brokers, m.controller));
        for (name, _) in K40 {
            let f = k40(name);
            truncations(&f, |b| parse_api_versions(b.get(4..).unwrap_or(&[])));
            truncations(&f, |b| parse_describe_quorum(b.get(5..).unwrap_or(&[]), 2));
            truncations(&f, |b| parse_metadata_v(b, 42, 4));
        }
    }
    /// Three dedicated controllers (1 to 3) and a broker (4), Kafka 3.9.2: the leader lists
    /// the voters and the broker as an observer; a follower controller refuses.
    #[test]
    fn describe_quorum_of_three_controllers_and_a_broker() {
        let leader = fixture(include_str!(
            "../../tests/fixtures/kafka_wire/3.9.2/quorum3-leader-describequorum_v1.hex"
        ));
        let q = parse_describe_quorum(&body_of(&leader, true), 1).unwrap();
        assert_eq!(q.leader, 1);
        assert_eq!(
            q.voters.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(
            q.observers.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![4]
        );
        // Caught in the middle of a round: voter 2 and the broker one record behind, 2 last
        // caught up 692 ms before the leader's clock (its own timestamps).
        let lags: Vec<_> = (1..=4).map(|id| q.lag(id)).collect();
        assert_eq!(lags, vec![Some(0), Some(1), Some(0), Some(1)], "{q:?}");
        assert_eq!(q.high_watermark, 46);
        let caught_up = |id: i32| {
            q.voters
                .iter()
                .find(|r| r.id == id)
                .unwrap()
                .last_caught_up_timestamp
        };
        assert_eq!(caught_up(1) - caught_up(2), 692);
        let follower = fixture(include_str!(
            "../../tests/fixtures/kafka_wire/3.9.2/quorum3-follower-describequorum_v1.hex"
        ));
        let e = parse_describe_quorum(&body_of(&follower, true), 1).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "DescribeQuorum __cluster_metadata-0: NOT_LEADER_OR_FOLLOWER (6)"
        );
        truncations(&leader, |b| {
            parse_describe_quorum(b.get(5..).unwrap_or(&[]), 1)
        });
    }

    #[test]
    fn the_supported_metadata_version_names_the_release_each_node_runs() {
        let k39 = parse_api_versions(&body_of(&fixture(K39_BROKER_AV3), false)).unwrap();
        assert_eq!(
            k39.release_line().map(|r| r.1),
            Some(Some("3.9")),
            "{:?}",
            k39.supported
        );
        let k39c = parse_api_versions(&body_of(&fixture(K39_CONTROLLER_AV3), false)).unwrap();
        assert_eq!(k39c.release_line().map(|r| r.1), Some(Some("3.9")));
        for f in ["broker-apiversions_v3", "controller-apiversions_v3"] {
            let k40 = parse_api_versions(&body_of(&k40(f), false)).unwrap();
            assert_eq!(
                k40.release_line(),
                Some((25, Some("4.0"))),
                "{f}: {:?}",
                k40.supported
            );
        }
        let mut newer = k39.clone();
        newer.supported = vec![("metadata.version".into(), 1, 40)];
        assert_eq!(newer.release_line(), Some((40, None)));
        newer.supported.clear();
        assert_eq!(newer.release_line(), None);
    }
}
