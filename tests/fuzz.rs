//! A bounded, deterministic fuzz run (CI runs it with the other tests): random mutations of the
//! shipped inventories through the loader and the planner, and arbitrary bytes through every
//! decoder of what a host sends back (facts, ZooKeeper `srvr`/`mntr`, JMX over HTTP, ZooKeeper
//! frames, Kafka metadata). Nothing may panic; an inventory is either planned or refused with
//! diagnostics that point at a line.
//!
//! The generator is a fixed-seed xorshift, so a failure reproduces. `STACKCTL_FUZZ_CASES=N`
//! runs N inventory cases and 20·N decoder cases instead of the default (a longer run:
//! `STACKCTL_FUZZ_CASES=20000 cargo test --release --test fuzz -- --nocapture`);
//! `STACKCTL_FUZZ_SEED` changes the seed.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use stackctl::plan::{PlanError, PlanOptions};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

fn cases() -> usize {
    std::env::var("STACKCTL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

fn rng() -> Rng {
    let seed = std::env::var("STACKCTL_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x005e_ed11_u64);
    Rng(seed | 1)
}

const SCALARS: &[&str] = &[
    "",
    "~",
    "null",
    "[]",
    "{}",
    "[a, [b]]",
    "{ a: 1 }",
    "-1",
    "0",
    "65536",
    "99999999999999999999999",
    "2.10",
    "1e400",
    "true",
    "'",
    "\"",
    "\"\\u0000\"",
    "\"\\uFFFE\"",
    "*nope",
    "&a x",
    "!!binary aGk=",
    "!!str 1",
    "${x}",
    "$(id)",
    "..",
    "/../etc",
    "/a/./b",
    "10.0.0.1",
    "::1",
    "\t",
    "é",
    "x\u{0}y",
    "a: b: c",
    "- x",
    "? x",
    "|\n  text",
    ">-",
    "3.5.6-x\nserver.97=1",
    "-- x --",
];

fn mutate(r: &mut Rng, text: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    for _ in 0..1 + r.below(3) {
        let n = lines.len().max(1);
        let i = r.below(n).min(lines.len().saturating_sub(1));
        match r.below(8) {
            // A byte flipped, or replaced by an interesting one.
            0 | 1 => {
                if let Some(l) = lines.get_mut(i) {
                    if !l.is_empty() {
                        let j = r.below(l.len());
                        l[j] = if r.below(2) == 0 {
                            l[j] ^ (1 << r.below(8))
                        } else {
                            *r.pick(b"\t\0\xff\xc3:-[]{}&*!|>'\"#%@` \r")
                        };
                    }
                }
            }
            2 => {
                if !lines.is_empty() {
                    lines.remove(i);
                }
            }
            3 => {
                if let Some(l) = lines.get(i).cloned() {
                    lines.insert(i, l);
                }
            }
            // Indentation: one or two spaces more or fewer, or a tab.
            4 => {
                if let Some(l) = lines.get_mut(i) {
                    match r.below(3) {
                        0 => l
                            .splice(0..0, b"  "[..1 + r.below(2)].iter().copied())
                            .for_each(drop),
                        1 => {
                            let k = l
                                .iter()
                                .take_while(|b| **b == b' ')
                                .count()
                                .min(1 + r.below(2));
                            l.drain(..k);
                        }
                        _ => l.insert(0, b'\t'),
                    }
                }
            }
            // A value replaced by a random scalar.
            5 | 6 => {
                if let Some(l) = lines.get_mut(i) {
                    let s = r.pick(SCALARS).as_bytes().to_vec();
                    match l.windows(2).position(|w| w == b": ") {
                        Some(p) => {
                            l.truncate(p + 2);
                            l.extend_from_slice(&s);
                        }
                        None => l.extend_from_slice(&s),
                    }
                }
            }
            _ => {
                let j = r.below(n).min(lines.len().saturating_sub(1));
                if i < lines.len() && j < lines.len() {
                    lines.swap(i, j);
                }
            }
        }
    }
    lines.join(&b'\n')
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(4000)]).to_string()
}

#[test]
fn mutated_inventories_are_planned_or_refused_at_a_line_never_a_panic() {
    let root = common::root();
    // Sound inventories (half the cases) and broken ones.
    let mut corpora: Vec<Vec<Vec<u8>>> = Vec::new();
    for dir in ["inventories", "tests/fixtures/broken"] {
        let mut seeds = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml"))
            // The alias bomb takes seconds to expand by design; once is enough (error_messages).
            .filter(|p| !p.ends_with("alias-bomb.yml"))
            .collect();
        names.sort();
        seeds.extend(names.iter().map(|p| std::fs::read(p).unwrap()));
        corpora.push(seeds);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.yml");
    let cat = stackctl::components::catalog();
    let renderer = stackctl::render::Renderer::new(None).unwrap();
    let opts = PlanOptions {
        read_only: true,
        ..Default::default()
    };
    let mut r = rng();
    let n = cases();
    let (mut planned, mut refused, mut failed) = (0usize, 0usize, 0usize);
    let start = Instant::now();
    for case in 0..n {
        let which = r.below(2);
        let seed = r.pick(&corpora[which]).clone();
        let input = mutate(&mut r, &seed);
        std::fs::write(&path, &input).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            match stackctl::inventory::load(&path, cat) {
                Ok((inv, warnings)) => {
                    stackctl::plan::plan_inventory(&inv, warnings, &renderer, &opts).map(|_| ())
                }
                Err(e) => Err(PlanError::Invalid(e)),
            }
        }));
        match outcome {
            Err(_) => panic!("case {case} panicked on:\n{}", show(&input)),
            Ok(Ok(())) => planned += 1,
            Ok(Err(PlanError::Invalid(e))) => {
                refused += 1;
                assert!(
                    e.diagnostics.has_errors(),
                    "case {case}: refused without an error"
                );
                for d in e.diagnostics.errors() {
                    let whole_file = ["the inventory is empty", "binary file", "not valid UTF-8"]
                        .iter()
                        .any(|m| d.message.contains(m));
                    assert!(
                        d.pos.is_known() || whole_file,
                        "case {case}: an error without a line: {d}\non:\n{}",
                        show(&input)
                    );
                    assert!(
                        !d.message.contains("from_str_multiple") && !d.message.contains("budget"),
                        "case {case}: parser internals leak: {d}"
                    );
                }
            }
            // Exit 1 (a template or an I/O failure): documented, but worth knowing about.
            Ok(Err(_)) => failed += 1,
        }
    }
    println!(
        "fuzz: {n} mutated inventories in {:.1?}: {planned} planned, {refused} refused at a line, {failed} other failures",
        start.elapsed()
    );
    assert!(
        planned > 0 && refused > 0,
        "the mutations exercise both paths"
    );
}

/// Bytes biased towards what decoders branch on: small and negative big-endian integers,
/// section markers, separators.
fn bytes(r: &mut Rng, tokens: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..r.below(48) {
        match r.below(5) {
            0 => out.extend((0..r.below(16)).map(|_| r.next() as u8)),
            1 => out.extend_from_slice(
                &(*r.pick(&[0i32, 1, 2, 3, 4, 7, -1, -101, 1 << 20, i32::MAX, i32::MIN]))
                    .to_be_bytes(),
            ),
            2 => out.extend_from_slice(&(r.below(12) as i16).to_be_bytes()),
            _ => {
                let t: &[u8] = tokens[r.below(tokens.len())];
                out.extend_from_slice(t)
            }
        }
    }
    out
}

#[test]
fn host_replies_never_panic_a_decoder() {
    let mark = stackctl::remote::facts::mark().to_string();
    let mark_line = format!("\n{mark} ");
    let tokens: Vec<&[u8]> = vec![
        mark_line.as_bytes(),
        b"java\n",
        b"sha256\n",
        b"running\n",
        b"df\n",
        b"listen\n",
        b"file /x\n",
        b"jars /opt/d\n",
        b"end\n",
        b"fstype\n",
        b"nofile\n",
        b"clock\n",
        b"/data\t/data\t1021994 tmpfs\n",
        b"/d\t/\tef53 ext2/ext3\n",
        b"\tUNKNOWN (0x1234)\n",
        b"stat: cannot read file system information for '/x'\n",
        b"soft 1024\n",
        b"hard unlimited\n",
        b"nr_open 18446744073709551616\n",
        b"1796162550.530288282\n",
        b"999999999999999.N\n",
        b"-1.5\n",
        b"zookeeper jvm /usr/bin/java 11\n",
        b"zookeeper zookeeper running 42\n",
        b"   0: 0B4DE70A:0885 00000000:0000 0A\n",
        b"/data /dev/vda 1 2 3 4% /\n",
        b"openjdk version \"11.0.2\"\n",
        b"Zookeeper version: 3.5.6-c11b7e26bc\n",
        b"Mode: leader\n",
        b"Zxid: 0x100000000\n",
        b"zk_synced_followers\t2\n",
        b"HTTP/1.1 200 OK\r\n",
        b"\r\n\r\n",
        b"{\"beans\":[{\"a\":1}]}",
        b"{\"beans\":",
        b"[",
        b"=",
        b":",
        b"\\",
        b"\n",
        b"\t",
        b"\xff\xfe",
        b"\xe2\x82",
        // Kafka's flexible versions: compact lengths, tagged fields, an unterminated varint.
        b"\x13__cluster_metadata",
        b"\x02",
        b"\x00",
        b"\x01\x08",
        b"\xff\xff\xff\xff\x0f",
        b"\x80\x80\x80",
    ];
    // Pieces of real KRaft answers (tests/fixtures/kafka_wire): whole, and cut anywhere.
    let real: Vec<Vec<u8>> = [
        "broker-apiversions_v3",
        "broker-describequorum_v1",
        "broker-describequorum_v2",
        "broker-metadata_v4",
    ]
    .iter()
    .map(|f| {
        let path = format!(
            "{}/tests/fixtures/kafka_wire/3.9.2/{f}.hex",
            env!("CARGO_MANIFEST_DIR")
        );
        hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap()
    })
    .collect();
    let halves: Vec<&[u8]> = real
        .iter()
        .flat_map(|f| [&f[..], &f[4..], &f[..f.len() / 2], &f[f.len() / 2..]])
        .collect();
    let tokens: Vec<&[u8]> = tokens.into_iter().chain(halves).collect();
    let mut r = rng();
    let n = cases() * 20;
    let start = Instant::now();
    for case in 0..n {
        let input = bytes(&mut r, &tokens);
        let text = String::from_utf8_lossy(&input).to_string();
        let ok = catch_unwind(AssertUnwindSafe(|| {
            use stackctl::remote::{facts, kafka_wire, probe, zk};
            let f = facts::parse(&text);
            let _ = facts::properties(&text);
            // The production-preflight parsers line by line, and the clock arithmetic on
            // whatever they accepted (extreme readings must not overflow).
            let mut limits = facts::OpenFileLimits::default();
            for line in text.lines() {
                let mut parts = line.splitn(3, '\t');
                if let (Some(_), Some(on), Some(said)) = (parts.next(), parts.next(), parts.next())
                {
                    if let Some(t) = facts::parse_fstype(on, said) {
                        let _ = t.in_memory();
                    }
                }
                facts::parse_nofile_line(&mut limits, line);
                if let Some(c) = facts::parse_clock(line) {
                    let mut g = f.clone();
                    g.clock = Some(c);
                    g.round_trip_ns = Some((0, i64::MAX as i128));
                    if let Some(o) = stackctl::deploy::preflight::Offset::of(&g) {
                        let _ = o.minus(o).certain();
                    }
                }
            }
            let _ = stackctl::deploy::preflight::reachable_open_files(&limits, false);
            let _ = zk::parse_srvr(&text);
            let _ = zk::mntr_field(&text, "zk_synced_followers");
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                let _ = zk::mntr_from_admin(&v);
                let _ = probe::first_bean(&v);
            }
            if let Ok(r) = probe::parse_reply(&input) {
                let _ = r.json();
                if let Some(l) = r.header("location") {
                    let _ = probe::query_param(l, "namenoderpcaddress");
                    let _ = probe::split_url(l);
                }
            }
            let _ = probe::url_decode(&text);
            if let Ok(body) = probe::parse_http(&input) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
                    let _ = probe::first_bean(&v);
                }
            }
            let _ = zk::frame_len(&input);
            let _ = zk::parse_handshake(&input);
            if let Ok((_, _, body)) = zk::parse_reply(&input) {
                let _ = zk::parse_children(body);
                let _ = zk::parse_data(body);
            }
            let _ = zk::parse_children(&input);
            let _ = zk::parse_data(&input);
            let correlation = i32::from_be_bytes(
                input
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 4]),
            );
            let _ = kafka_wire::parse_metadata(&input, correlation);
            let _ = kafka_wire::parse_metadata(input.get(4..).unwrap_or(&[]), correlation);
            let _ = kafka_wire::parse_records(&input);
            let _ = kafka_wire::parse_fetch(&input);
            let _ = kafka_wire::parse_produce(&input);
            let _ = kafka_wire::parse_create_topics(&input);
            let _ = kafka_wire::parse_delete_topics(&input);
            let _ = kafka_wire::parse_metadata_v(&input, correlation, 4);
            let _ = kafka_wire::parse_api_versions(&input);
            for v in 0..=2 {
                let _ = kafka_wire::parse_describe_quorum(&input, v);
            }
            for flexible in [false, true] {
                if let Ok((_, body)) = kafka_wire::split_response_header(&input, flexible) {
                    let _ = kafka_wire::parse_api_versions(body);
                    let _ = kafka_wire::parse_describe_quorum(body, 1);
                }
            }
            let _ = zk::parse_path(&input);
        }));
        assert!(ok.is_ok(), "case {case}: a decoder panicked on {input:?}");
    }
    println!(
        "fuzz: {n} host replies through 27 decoders in {:.1?}",
        start.elapsed()
    );
}
