#!/usr/bin/env python3
"""Validate (and optionally convert to JSON) stackctl's compatibility rules file.

    python3 src/compat/check_rules.py [RULES_YAML] [--facts FACTS_YAML | --no-facts] [--json OUT.json] [-q]

Checks, in order (any failure -> exit status 1):
  1. schema: top-level keys, per-entry keys, enum values, component names, id format/uniqueness,
     every release/rule carries a non-empty `source` and `status`;
  2. every version requirement parses (syntax below, identical to the Rust engine's);
  3. no two `releases` entries of one component overlap;
  4. no rule is unreachable (fully shadowed by an EARLIER rule of its (a, b, relation) group);
  5. unit tests of the requirement matcher;
  6. lookups of real combinations with first-match semantics (verdicts are printed);
  7. if the facts file is present: every release/verdict of compat-facts.yaml is reproduced by the
     rules file (bundled jar versions, status, source; verdicts at representative versions).

Requirement syntax: alternatives joined by `||`; an alternative is a comma-separated list of
comparators that must all hold; comparator = `>=V` `>V` `<=V` `<V` `=V`, bare `V` (prefix match on
dotted numeric components) or `*`. V is dotted numbers; missing components count as 0; a `-qualifier`
on a version being tested is ignored.
"""
import argparse
import json
import os
import re
import sys

import yaml

# Component names and their release fields are declared in the rules file itself (`components:`
# and `subjects:`), so adding a component never touches this checker.
RELATIONS = {"runs_with", "client_to_server", "rolling_upgrade"}
VERDICTS = {"supported", "not_tested", "not_supported", "unconfirmed"}
STATUSES = {"confirmed", "derived", "secondary", "unconfirmed"}
RELEASE_KEYS = {"component", "versions", "bundles", "java", "status", "source", "note"}
RELEASE_REQUIRED = {"component", "versions", "status", "source"}
DEFAULT_BUNDLES = ["zookeeper"]
FIELD_TYPES = {"bool", "list"}
RULE_KEYS = {"id", "a", "b", "when", "relation", "verdict", "status", "source", "note"}
RULE_REQUIRED = {"id", "a", "b", "relation", "verdict", "status", "source"}
ID_RE = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
EXACT_VERSION_RE = re.compile(r"^\d+(?:\.\d+)*(?:-[A-Za-z0-9._-]+)?$")
COMPARATOR_RE = re.compile(r"^(>=|<=|>|<|=)?(\d+(?:\.\d+)*)$")
# shared/ sits beside the checkout (CI clones main with shared/ next to it).
DEFAULT_FACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "compat", "compat-facts.yaml")


class ReqError(ValueError):
    pass


# --------------------------------------------------------------------------- versions
def vkey(text):
    """'2.5.0-cdh5.3.6' -> (2, 5); trailing zeros stripped so tuple order == padded numeric order."""
    s = str(text).strip()
    m = re.match(r"^(\d+(?:\.\d+)*)(?:-.*)?$", s)
    if not m:
        raise ReqError("not a version: %r" % text)
    parts = [int(x) for x in m.group(1).split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def vparts(text):
    m = re.match(r"^(\d+(?:\.\d+)*)", str(text).strip())
    if not m:
        raise ReqError("not a version: %r" % text)
    return [int(x) for x in m.group(1).split(".")]


# --------------------------------------------------------------------------- requirements
def parse_req(text, java=False):
    """-> list of alternatives; alternative = list of (op, parts) with op in >= > <= < = prefix *"""
    if not isinstance(text, str) or not text.strip():
        raise ReqError("empty requirement %r" % (text,))
    alts = []
    for alt in text.split("||"):
        alt = alt.strip()
        if not alt:
            raise ReqError("empty alternative in %r" % text)
        comps = []
        for c in alt.split(","):
            c = c.strip()
            if c == "*":
                comps.append(("*", None))
                continue
            m = COMPARATOR_RE.match(c)
            if not m:
                raise ReqError("bad comparator %r in %r" % (c, text))
            op = m.group(1) or "prefix"
            parts = [int(x) for x in m.group(2).split(".")]
            if java and len(parts) != 1:
                raise ReqError("java requirement must use majors only: %r" % text)
            comps.append((op, parts))
        alts.append(comps)
    return alts


def cmp_match(op, parts, version):
    if op == "*":
        return True
    if op == "prefix":
        v = vparts(version)
        v = v + [0] * (len(parts) - len(v))
        return v[: len(parts)] == parts
    a, b = vkey(version), vkey(".".join(map(str, parts)))
    return {">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b, "=": a == b}[op]


def req_match(req, version):
    alts = parse_req(req) if isinstance(req, str) else req
    return any(all(cmp_match(op, p, version) for op, p in alt) for alt in alts)


# Interval view (for overlap / shadowing analysis). Bound = (key, inclusive) or None (unbounded).
def _prefix_upper(parts):
    up = list(parts)
    up[-1] += 1
    return up


def alt_interval(alt):
    lo, hi = None, None  # lo=(key, incl), hi=(key, incl)

    def tighten_lo(k, incl):
        nonlocal lo
        if lo is None or k > lo[0] or (k == lo[0] and not incl):
            lo = (k, incl)

    def tighten_hi(k, incl):
        nonlocal hi
        if hi is None or k < hi[0] or (k == hi[0] and not incl):
            hi = (k, incl)

    for op, parts in alt:
        if op == "*":
            continue
        k = vkey(".".join(map(str, parts)))
        if op in (">=", ">"):
            tighten_lo(k, op == ">=")
        elif op in ("<=", "<"):
            tighten_hi(k, op == "<=")
        elif op == "=":
            tighten_lo(k, True)
            tighten_hi(k, True)
        elif op == "prefix":
            tighten_lo(k, True)
            tighten_hi(vkey(".".join(map(str, _prefix_upper(parts)))), False)
    return lo, hi


def interval_empty(iv):
    lo, hi = iv
    if lo is None or hi is None:
        return False
    return lo[0] > hi[0] or (lo[0] == hi[0] and not (lo[1] and hi[1]))


def intervals(req):
    return [iv for iv in (alt_interval(a) for a in parse_req(req)) if not interval_empty(iv)]


def _intersect(x, y):
    lo = x[0] if y[0] is None else y[0] if x[0] is None else max(x[0], y[0], key=lambda b: (b[0], not b[1]))
    hi = x[1] if y[1] is None else y[1] if x[1] is None else min(x[1], y[1], key=lambda b: (b[0], b[1]))
    return lo, hi


def reqs_overlap(r1, r2):
    return any(not interval_empty(_intersect(x, y)) for x in intervals(r1) for y in intervals(r2))


def _contains(outer, inner):
    (olo, ohi), (ilo, ihi) = outer, inner
    lo_ok = olo is None or (ilo is not None and (ilo[0] > olo[0] or (ilo[0] == olo[0] and (olo[1] or not ilo[1]))))
    hi_ok = ohi is None or (ihi is not None and (ihi[0] < ohi[0] or (ihi[0] == ohi[0] and (ohi[1] or not ihi[1]))))
    return lo_ok and hi_ok


def req_subset(inner, outer):
    """True if every version matched by `inner` is matched by `outer` (per-interval; conservative)."""
    outs = intervals(outer)
    return all(any(_contains(o, i) for o in outs) for i in intervals(inner))


# --------------------------------------------------------------------------- engine-like lookups
class Rules:
    def __init__(self, data):
        self.data = data
        self.releases = data.get("releases") or []
        self.rules = data.get("rules") or []

    def release(self, component, version):
        m = [r for r in self.releases if r["component"] == component and req_match(r["versions"], version)]
        if len(m) > 1:
            raise AssertionError("overlapping releases for %s %s" % (component, version))
        return m[0] if m else None

    def lookup(self, a_comp, a_ver, b_comp, b_ver, relation="runs_with", ctx=None):
        ctx = ctx or {}
        for r in self.rules:
            if (r["a"]["component"], r["b"]["component"], r["relation"]) != (a_comp, b_comp, relation):
                continue
            if not (req_match(r["a"]["versions"], a_ver) and req_match(r["b"]["versions"], b_ver)):
                continue
            when = r.get("when") or {}
            if all(k in ctx and req_match(v, ctx[k]) for k, v in when.items()):
                return r
        return None

    def bundled_client(self, product, version):
        rel = self.release(product, version)
        return ((rel or {}).get("bundles") or {}).get("zookeeper")


# --------------------------------------------------------------------------- checks
class Checker:
    def __init__(self, quiet=False):
        self.errors = []
        self.quiet = quiet
        self.passed = 0

    def err(self, msg):
        self.errors.append(msg)
        print("FAIL  " + msg)

    def ok(self, msg):
        self.passed += 1
        if not self.quiet:
            print("ok    " + msg)


def check_schema(data, ck):
    if not isinstance(data, dict):
        ck.err("top level is not a mapping")
        return False
    extra = set(data) - {"schema", "components", "subjects", "releases", "rules"}
    if extra:
        ck.err("unknown top-level keys: %s" % sorted(extra))
    if data.get("schema") != 1:
        ck.err("schema must be 1, got %r" % data.get("schema"))
    for key in ("releases", "rules"):
        if not isinstance(data.get(key), list) or not data[key]:
            ck.err("%s must be a non-empty list" % key)
            return False
    comps = data.get("components")
    if not isinstance(comps, dict) or not comps:
        ck.err("components must be a non-empty mapping of component name -> release schema")
        return False
    for name, sch in comps.items():
        if not isinstance(sch, dict) or set(sch) - {"bundles", "fields", "required"}:
            ck.err("components.%s: expected {bundles, fields, required}, got %r" % (name, sch))
            return False
        for fname, ftype in (sch.get("fields") or {}).items():
            if not isinstance(ftype, dict) or ftype.get("type") not in FIELD_TYPES or set(ftype) - {"type", "pattern"}:
                ck.err("components.%s.fields.%s: expected {type: bool|list, pattern}" % (name, fname))
        for fname in sch.get("required") or []:
            if fname not in (sch.get("fields") or {}):
                ck.err("components.%s.required: %s is not one of its fields" % (name, fname))
    subjects = data.get("subjects")
    if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
        ck.err("subjects must be a list of names")
        return False
    release_components = set(comps)
    rule_components = release_components | set(subjects)

    def field_ok(ftype, v):
        if ftype["type"] == "bool":
            return isinstance(v, bool)
        pat = ftype.get("pattern")
        return isinstance(v, list) and all(isinstance(s, str) and (not pat or re.match(pat, s)) for s in v)

    def check_req(where, req, java=False):
        try:
            parse_req(req, java=java)
            intervals(req)
        except ReqError as e:
            ck.err("%s: %s" % (where, e))

    def check_common(where, e):
        for k in ("status", "source"):
            if not isinstance(e.get(k), str) or not e.get(k).strip():
                ck.err("%s: missing/empty %s" % (where, k))
        if e.get("status") not in STATUSES:
            ck.err("%s: bad status %r" % (where, e.get("status")))
        if "note" in e and not isinstance(e["note"], str):
            ck.err("%s: note must be a string" % where)

    for i, r in enumerate(data["releases"]):
        where = "releases[%d] (%s %s)" % (i, r.get("component"), r.get("versions"))
        if not isinstance(r, dict):
            ck.err("%s: not a mapping" % where)
            continue
        comp = r.get("component")
        sch = comps.get(comp) if isinstance(comp, str) else None
        if sch is None:
            ck.err("%s: bad component %r (not under `components:`)" % (where, comp))
            sch = {}
        fields = sch.get("fields") or {}
        allowed = RELEASE_KEYS | set(fields)
        if set(r) - allowed:
            ck.err("%s: unknown keys %s" % (where, sorted(set(r) - allowed)))
        if RELEASE_REQUIRED - set(r):
            ck.err("%s: missing keys %s" % (where, sorted(RELEASE_REQUIRED - set(r))))
        for fname in sch.get("required") or []:
            if fname not in r:
                ck.err("%s: %s entry needs %s" % (where, comp, fname))
        for fname, ftype in fields.items():
            if fname in r and not field_ok(ftype, r[fname]):
                ck.err("%s: %s must be a %s%s" % (where, fname, ftype["type"], " of strings like %s" % ftype["pattern"] if ftype.get("pattern") else ""))
        bundle_keys = set(sch.get("bundles") or DEFAULT_BUNDLES)
        check_req(where, r.get("versions"))
        check_common(where, r)
        b = r.get("bundles")
        if b is not None:
            if not isinstance(b, dict) or not b or set(b) - bundle_keys:
                ck.err("%s: bad bundles %r (%s may bundle: %s)" % (where, b, comp, ", ".join(sorted(bundle_keys))))
            else:
                for k, v in b.items():
                    if not isinstance(v, str) or not EXACT_VERSION_RE.match(v):
                        ck.err("%s: bundles.%s must be an exact version string, got %r" % (where, k, v))
        if r.get("zookeeper_mode") is False and "zookeeper" in (b or {}):
            ck.err("%s: a release without ZooKeeper mode cannot bundle a ZooKeeper client" % where)
        if "java" in r and not (isinstance(r["java"], list) and all(isinstance(j, str) and j.isdigit() for j in r["java"])):
            ck.err("%s: java must be a list of major-version strings" % where)

    seen = {}
    for i, r in enumerate(data["rules"]):
        where = "rules[%d] (%s)" % (i, r.get("id") if isinstance(r, dict) else "?")
        if not isinstance(r, dict):
            ck.err("%s: not a mapping" % where)
            continue
        if set(r) - RULE_KEYS:
            ck.err("%s: unknown keys %s" % (where, sorted(set(r) - RULE_KEYS)))
        if RULE_REQUIRED - set(r):
            ck.err("%s: missing keys %s" % (where, sorted(RULE_REQUIRED - set(r))))
        rid = r.get("id")
        if not isinstance(rid, str) or not ID_RE.match(rid):
            ck.err("%s: id must be kebab-case" % where)
        elif rid in seen:
            ck.err("%s: duplicate id (also rules[%d])" % (where, seen[rid]))
        else:
            seen[rid] = i
        for side in ("a", "b"):
            s = r.get(side)
            if not isinstance(s, dict) or set(s) != {"component", "versions"}:
                ck.err("%s: %s must be {component, versions}" % (where, side))
                continue
            if s["component"] not in rule_components:
                ck.err("%s: %s.component %r not allowed" % (where, side, s["component"]))
            check_req("%s %s" % (where, side), s["versions"], java=s["component"] == "java")
        w = r.get("when")
        if w is not None:
            if not isinstance(w, dict) or not w:
                ck.err("%s: when must be a non-empty mapping" % where)
            else:
                for k, v in w.items():
                    if k not in rule_components:
                        ck.err("%s: when key %r is not a component" % (where, k))
                    check_req("%s when.%s" % (where, k), v, java=k == "java")
        if r.get("relation") not in RELATIONS:
            ck.err("%s: bad relation %r" % (where, r.get("relation")))
        if r.get("verdict") not in VERDICTS:
            ck.err("%s: bad verdict %r" % (where, r.get("verdict")))
        check_common(where, r)
    return not ck.errors


def check_overlaps(data, ck):
    n = 0
    rel = data["releases"]
    for i in range(len(rel)):
        for j in range(i + 1, len(rel)):
            if rel[i]["component"] == rel[j]["component"] and reqs_overlap(rel[i]["versions"], rel[j]["versions"]):
                ck.err("releases overlap: %s %r and %r" % (rel[i]["component"], rel[i]["versions"], rel[j]["versions"]))
                n += 1
    if not n:
        ck.ok("no overlapping releases entries (%d entries)" % len(rel))


def check_shadowing(data, ck):
    rules = data["rules"]
    n = 0
    for j, r in enumerate(rules):
        for i in range(j):
            e = rules[i]
            if (e["a"]["component"], e["b"]["component"], e["relation"]) != (r["a"]["component"], r["b"]["component"], r["relation"]):
                continue
            ew, rw = e.get("when") or {}, r.get("when") or {}
            if any(k not in rw or not req_subset(rw[k], v) for k, v in ew.items()):
                continue
            if req_subset(r["a"]["versions"], e["a"]["versions"]) and req_subset(r["b"]["versions"], e["b"]["versions"]):
                ck.err("rule %s is unreachable: fully shadowed by earlier rule %s" % (r["id"], e["id"]))
                n += 1
                break
    if not n:
        ck.ok("no rule is shadowed by an earlier rule of its group (%d rules)" % len(rules))


def check_matcher(ck):
    cases = [
        ("2.4", "2.4", True), ("2.4", "2.4.0", True), ("2.4", "2.4.1", True), ("2.4", "2.4.1.3", True),
        ("2.4", "2.5", False), ("2.4", "2.40", False), ("3.1.0", "3.1.0", True), ("3.1.0", "3.1.0-beta", True),
        ("3.1.0", "3.1.1", False), ("3.1.0", "3.1", True), ("<2.6", "2.6.0", False), ("<2.6", "2.5.99", True),
        (">=2.5, <2.6", "2.5.0", True), (">=2.5, <2.6", "2.6.0", False), ("*", "0.20.205", True),
        ("=2.4.18 || >=2.5.7, <2.6 || 2.6", "2.4.18", True), ("=2.4.18 || >=2.5.7, <2.6 || 2.6", "2.5.7", True),
        ("=2.4.18 || >=2.5.7, <2.6 || 2.6", "2.6.3", True), ("=2.4.18 || >=2.5.7, <2.6 || 2.6", "2.5.6", False),
        ("=2.4.18 || >=2.5.7, <2.6 || 2.6", "2.7.0", False), ("=2.5.0", "2.5.0-cdh5.3.6", True),
        (">=3.4.0", "3.4.0-SNAPSHOT", True), ("8 || 11", "11", True), ("8 || 11", "17", False), (">=11", "17", True),
        ("=2.1.0", "2.1.0-beta", True), (">2.6.0, <2.7", "2.6.0", False), (">2.6.0, <2.7", "2.6.0.1", True),
    ]
    bad = [(r, v, e) for r, v, e in cases if req_match(r, v) != e]
    for r, v, e in bad:
        ck.err("matcher: %r ~ %r should be %s" % (r, v, e))
    # interval view must agree with direct matching
    samples = ["0.20.205", "1.0", "2.3.9", "2.4", "2.4.0.1", "2.4.18", "2.5.6", "2.5.7", "2.6", "2.6.0.1", "2.7", "3.1.0", "3.4.0", "17"]
    for r, _, _ in cases:
        for v in samples:
            iv = any(_contains(x, ((vkey(v), True), (vkey(v), True))) for x in intervals(r))
            if iv != req_match(r, v):
                ck.err("matcher: interval view disagrees for %r ~ %r" % (r, v))
    for badreq in ["", ">=", "2.x", ">= 2.4 <3", "2.4||", "~2.4", "2.4.*"]:
        try:
            parse_req(badreq)
            ck.err("matcher: %r should be rejected" % badreq)
        except ReqError:
            pass
    try:
        parse_req("1.8", java=True)
        ck.err("matcher: java '1.8' should be rejected (majors only)")
    except ReqError:
        pass
    if not bad:
        ck.ok("requirement matcher: %d cases + interval consistency + malformed inputs rejected" % len(cases))


def run_assertions(R, ck):
    def verdict(a_comp, a_ver, b_comp, b_ver, relation="runs_with", ctx=None):
        r = R.lookup(a_comp, a_ver, b_comp, b_ver, relation, ctx)
        return r

    def expect(desc, r, want_verdict, want_status=None):
        got = None if r is None else r["verdict"]
        shown = "no rule" if r is None else "%s [%s] via %s" % (r["verdict"], r["status"], r["id"])
        if got == want_verdict and (want_status is None or r["status"] == want_status):
            ck.ok("%-58s -> %s" % (desc, shown))
        else:
            ck.err("%-58s -> %s (expected %s%s)" % (desc, shown, want_verdict, "" if want_status is None else " [%s]" % want_status))

    def expect_eq(desc, got, want):
        if got == want:
            ck.ok("%-58s -> %r" % (desc, got))
        else:
            ck.err("%-58s -> %r (expected %r)" % (desc, got, want))

    def kafka_vs_zk(kv, zv):
        cl = R.bundled_client("kafka", kv)
        return cl, (R.lookup("zookeeper-client", cl, "zookeeper", zv, "client_to_server") if cl else None)

    # --- the brief's checks
    expect_eq("kafka 2.4.0 bundles zookeeper", R.bundled_client("kafka", "2.4.0"), "3.5.6")
    expect_eq("kafka 3.6.0 bundles zookeeper", R.bundled_client("kafka", "3.6.0"), "3.8.2")
    expect("zookeeper-client 3.8.2 -> zookeeper 3.4.14", verdict("zookeeper-client", "3.8.2", "zookeeper", "3.4.14", "client_to_server"), "not_supported")
    expect("zookeeper-client 3.5.6 -> zookeeper 3.5.6", verdict("zookeeper-client", "3.5.6", "zookeeper", "3.5.6", "client_to_server"), "supported")
    expect("hbase 1.2.12 x hadoop 2.4.1", verdict("hbase", "1.2.12", "hadoop", "2.4.1"), "supported")
    for v in ("1.4.0", "1.4.13"):
        expect("hbase %s x hadoop 2.5.0" % v, verdict("hbase", v, "hadoop", "2.5.0"), "not_supported")
    expect("hbase 2.5.10 x hadoop 3.3.6", verdict("hbase", "2.5.10", "hadoop", "3.3.6"), "supported")
    expect("hbase 2.6.0 x hadoop 3.3.4", verdict("hbase", "2.6.0", "hadoop", "3.3.4"), "not_supported")
    expect("hbase 2.5.8 x java 17", verdict("hbase", "2.5.8", "java", "17"), "not_tested")
    expect("zookeeper 3.5.6 x java 11", verdict("zookeeper", "3.5.6", "java", "11"), "unconfirmed")
    expect("hadoop 2.4.1 x java 8", verdict("hadoop", "2.4.1", "java", "8"), "unconfirmed")
    expect("kafka 2.4.0 x java 11", verdict("kafka", "2.4.0", "java", "11"), "supported")
    k4 = R.release("kafka", "4.0.0") or {}
    expect_eq("kafka 4.0.0 zookeeper_mode", k4.get("zookeeper_mode"), False)
    expect_eq("kafka 4.0.0 bundles a zookeeper jar", "zookeeper" in (k4.get("bundles") or {}), False)
    zk = (R.release("hbase", "2.5.10") or {}).get("bundles", {}).get("zookeeper", "")
    expect_eq("hbase 2.5.10 bundles zookeeper 3.8.x", req_match("3.8", zk) if zk else None, True)

    # --- Kafka end to end: bundled client vs deployed server (KIP-902)
    for kv, zv, want in [("3.6.0", "3.4.14", "not_supported"), ("2.3.1", "3.8.4", "not_supported"),
                         ("2.3.1", "3.4.14", "supported"), ("2.4.0", "3.4.14", "unconfirmed"),
                         ("3.0.0", "3.4.14", "not_supported"), ("3.0.0", "3.5.9", "supported"),
                         ("3.9.0", "3.9.3", "supported"), ("2.8.2", "3.9.3", "supported"),
                         ("2.0.0", "3.9.3", "not_supported"), ("1.1.1", "3.6.4", "supported")]:
        cl, r = kafka_vs_zk(kv, zv)
        expect("kafka %s (zk client %s) -> zookeeper %s" % (kv, cl, zv), r, want)
    expect("kafka 4.0.0 x zookeeper 3.8.4", verdict("kafka", "4.0.0", "zookeeper", "3.8.4"), "not_supported")
    expect("kafka 4.0.0 x java 11 (broker)", verdict("kafka", "4.0.0", "java", "11"), "not_supported")
    expect("kafka 4.0.0 x java 17", verdict("kafka", "4.0.0", "java", "17"), "supported")
    expect("kafka 3.8.0 x java 21", verdict("kafka", "3.8.0", "java", "21"), "not_tested")
    expect("kafka 2.0.1 x java 7", verdict("kafka", "2.0.1", "java", "7"), "not_supported")

    # --- HBase x Hadoop: split cells and caveats
    expect("hbase 2.5.11 x hadoop 3.4.1", verdict("hbase", "2.5.11", "hadoop", "3.4.1"), "supported")
    expect("hbase 2.5.10 x hadoop 3.4.1", verdict("hbase", "2.5.10", "hadoop", "3.4.1"), "not_tested", "derived")
    expect("hbase 2.6.2 x hadoop 3.4.0", verdict("hbase", "2.6.2", "hadoop", "3.4.0"), "supported")
    expect("hbase 2.6.1 x hadoop 3.4.0", verdict("hbase", "2.6.1", "hadoop", "3.4.0"), "not_tested")
    expect("hbase 2.5.3 x hadoop 2.10.1", verdict("hbase", "2.5.3", "hadoop", "2.10.1"), "not_supported")
    expect("hbase 2.5.3 x hadoop 2.10.2", verdict("hbase", "2.5.3", "hadoop", "2.10.2"), "supported")
    expect("hbase 2.6.0 x hadoop 3.3.5", verdict("hbase", "2.6.0", "hadoop", "3.3.5"), "supported")
    expect("hbase 2.4.17 x hadoop 3.1.0", verdict("hbase", "2.4.17", "hadoop", "3.1.0"), "not_supported")
    expect("hbase 2.4.17 x hadoop 3.3.6", verdict("hbase", "2.4.17", "hadoop", "3.3.6"), "supported")
    expect("hbase 2.1.9 x hadoop 3.0.3", verdict("hbase", "2.1.9", "hadoop", "3.0.3"), "supported")
    expect("hbase 2.0.1 x hadoop 2.9.0 (table wins over callout)", verdict("hbase", "2.0.1", "hadoop", "2.9.0"), "not_tested")
    expect("hbase 1.2.6 x hadoop 2.8.1 (not-production callout)", verdict("hbase", "1.2.6", "hadoop", "2.8.1"), "not_supported")
    expect("hbase 1.4.13 x hadoop 2.8.5 (newer than table)", verdict("hbase", "1.4.13", "hadoop", "2.8.5"), "not_tested")
    expect("hbase 2.5.8 x hadoop 2.9.2 (older than table)", verdict("hbase", "2.5.8", "hadoop", "2.9.2"), "not_supported")
    expect("hbase 2.2.7 x hadoop 3.2.4 (not in table)", verdict("hbase", "2.2.7", "hadoop", "3.2.4"), "not_tested")
    expect("hbase 0.94.27 x hadoop 1.0.4", verdict("hbase", "0.94.27", "hadoop", "1.0.4"), "not_supported")
    expect("hbase 0.98.24 x hadoop 2.2.0", verdict("hbase", "0.98.24", "hadoop", "2.2.0"), "supported")
    expect("hbase 0.96.2 x hadoop 2.1.0-beta", verdict("hbase", "0.96.2", "hadoop", "2.1.0-beta"), "supported")
    expect("hbase 1.0.3 x hadoop 2.6.5", verdict("hbase", "1.0.3", "hadoop", "2.6.5"), "not_tested")
    expect("hbase 0.98.6 x hadoop 2.5.0-cdh5.3.6", verdict("hbase", "0.98.6", "hadoop", "2.5.0-cdh5.3.6"), "supported")
    # bundled Hadoop-2 jars on JDK 11+
    hj = (R.release("hbase", "2.4.7") or {}).get("bundles", {}).get("hadoop")
    expect("hbase 2.4.7 (-bin jars %s) on java 11" % hj, R.lookup("hbase", "2.4.7", "hadoop-jars", hj, ctx={"java": "11"}), "not_supported")
    expect("hbase 2.4.7 (-bin jars %s) on java 8" % hj, R.lookup("hbase", "2.4.7", "hadoop-jars", hj, ctx={"java": "8"}), None)
    h3 = (R.release("hbase", "2.5.10") or {}).get("bundles", {}).get("hadoop3")
    expect("hbase 2.5.10 (-hadoop3-bin jars %s) on java 17" % h3, R.lookup("hbase", "2.5.10", "hadoop-jars", h3, ctx={"java": "17"}), None)

    # --- HBase x ZooKeeper server, JDK edge cases
    expect("hbase 2.0.6 x zookeeper 3.4.14", verdict("hbase", "2.0.6", "zookeeper", "3.4.14"), "supported")
    expect("hbase 2.4.18 x zookeeper 3.4.14", verdict("hbase", "2.4.18", "zookeeper", "3.4.14"), "not_supported")
    expect("hbase 2.5.8 x zookeeper 3.4.14", verdict("hbase", "2.5.8", "zookeeper", "3.4.14"), "not_supported")
    expect("hbase 2.4.17 x zookeeper 3.4.14", verdict("hbase", "2.4.17", "zookeeper", "3.4.14"), "unconfirmed")
    expect("hbase 1.2.6 x zookeeper 3.3.6", verdict("hbase", "1.2.6", "zookeeper", "3.3.6"), "not_supported")
    expect("hbase 2.6.7 x java 21", verdict("hbase", "2.6.7", "java", "21"), "not_supported", "derived")
    expect("hbase 1.1.13 x java 8", verdict("hbase", "1.1.13", "java", "8"), "not_tested")
    expect("zookeeper 3.4.14 x java 17", verdict("zookeeper", "3.4.14", "java", "17"), "not_supported", "secondary")
    expect("zookeeper 3.5.9 x java 7", verdict("zookeeper", "3.5.9", "java", "7"), "not_supported")
    expect("hadoop 3.2.4 x java 11", verdict("hadoop", "3.2.4", "java", "11"), "not_supported")
    expect("hadoop 3.3.6 x java 11", verdict("hadoop", "3.3.6", "java", "11"), "supported")
    # --- ZooKeeper rolling upgrades
    expect("zookeeper 3.4.5 => 3.5.6", verdict("zookeeper", "3.4.5", "zookeeper", "3.5.6", "rolling_upgrade"), "not_supported")
    expect("zookeeper 3.4.14 => 3.5.9", verdict("zookeeper", "3.4.14", "zookeeper", "3.5.9", "rolling_upgrade"), "supported")
    expect("zookeeper 3.4.14 => 3.8.4", verdict("zookeeper", "3.4.14", "zookeeper", "3.8.4", "rolling_upgrade"), "not_supported")
    expect("zookeeper 3.7.2 => 3.9.3", verdict("zookeeper", "3.7.2", "zookeeper", "3.9.3", "rolling_upgrade"), "supported")


# --------------------------------------------------------------------------- facts cross-check
VLAB = re.compile(r"\d+(?:\.\d+)+")


def label_samples(label):
    """Representative versions of an ad-hoc fact label ('2.10.2+', '2.6.x', '1.0.0-1.0.3', '2.5.16 / 2.6.7')."""
    label = re.sub(r"\s*\((zk|server)[^)]*\)", "", label)
    out = []
    for part in re.split(r"\||/|,", label):
        part = part.strip()
        vs = VLAB.findall(part)
        if not vs:
            continue
        if part.endswith(".x") and len(vs) == 1:
            out.append(vs[0] + ".1")
        else:
            out.extend([vs[0], vs[-1]] if vs[0] != vs[-1] else [vs[0]])
    return out


def facts_crosscheck(R, facts, ck):
    # releases
    miss = 0
    comp_ok = 0
    for c in facts["components"]:
        if c["component"] not in R.data["components"]:
            print("skip  facts component %s %s: not a stackctl component (not encoded)" % (c["component"], c["version"]))
            continue
        for v in label_samples(str(c["version"])) or [str(c["version"])]:
            rel = R.release(c["component"], v)
            if rel is None:
                ck.err("facts %s %s: no releases entry matches %s" % (c["component"], c["version"], v))
                miss += 1
                continue
            b = rel.get("bundles") or {}
            probs = []
            zk = c.get("bundled_zookeeper")
            if zk and EXACT_VERSION_RE.match(zk) and b.get("zookeeper") != zk:
                probs.append("zookeeper %r != %r" % (b.get("zookeeper"), zk))
            if zk and "(guess)" in zk and b.get("zookeeper") != zk.replace("(guess)", "").strip():
                probs.append("guessed zookeeper %r != %r" % (b.get("zookeeper"), zk))
            if (not zk or not EXACT_VERSION_RE.match(zk)) and "(guess)" not in str(zk) and "zookeeper" in b:
                probs.append("bundles.zookeeper %r but facts have %r" % (b["zookeeper"], zk))
            for fk, rk in (("bundled_hadoop_bin", "hadoop"), ("bundled_hadoop_hadoop3_bin", "hadoop3")):
                if c.get(fk) != b.get(rk):
                    probs.append("%s %r != %r" % (rk, b.get(rk), c.get(fk)))
            for k in ("status", "source"):
                if rel[k] != c[k]:
                    probs.append("%s differs" % k)
            if c["component"] == "kafka":
                if rel.get("zookeeper_mode") != c["zookeeper_mode"] or rel.get("scala") != [str(s) for s in c["scala"]]:
                    probs.append("scala/zookeeper_mode differ")
            if probs:
                ck.err("facts %s %s @%s: %s" % (c["component"], c["version"], v, "; ".join(probs)))
                miss += 1
            else:
                comp_ok += 1
    if not miss:
        ck.ok("facts components: every release reproduced (%d sample lookups; jars, status, source)" % comp_ok)

    # verdicts
    pref = [("zookeeper-client-", "zookeeper-client"), ("zookeeper-server-", "zookeeper"), ("zookeeper-", "zookeeper"),
            ("hbase-", "hbase"), ("hadoop-", "hadoop"), ("kafka-", "kafka"), ("java-", "java")]

    def split(label):
        for p, comp in pref:
            if label.startswith(p):
                return comp, label[len(p):]
        return None, None

    checked = skipped = bad = 0
    for f in facts["verdicts"]:
        ac, al = split(f["a"])
        bc, bl = split(f["b"])
        if None in (ac, bc) or any(s in f["a"] + f["b"] for s in ("any", "not-in-table", "(jdk11+)", "(clients)", "(connect)")):
            skipped += 1
            continue
        a_samples = label_samples(al)
        m = re.search(r"only from (\d+(?:\.\d+)+)\+", f.get("note", ""))
        if m:
            a_samples = [m.group(1)]
        b_samples = label_samples(bl) if bc != "java" else [bl]
        if bc == "java" and ac == "kafka" and al.startswith("4.0"):
            a_samples = ["4.0.0"]
        for av in a_samples:
            for bv in b_samples:
                a_comp, a_ver, rel = ac, av, f["relation"]
                if ac == "kafka" and bc == "zookeeper":  # kafka line x server -> bundled client x server
                    a_ver = R.bundled_client("kafka", av)
                    a_comp, rel = "zookeeper-client", "client_to_server"
                r = R.lookup(a_comp, a_ver, bc, bv, rel) if a_ver else None
                checked += 1
                if r is None or r["verdict"] != f["verdict"]:
                    ck.err("fact %s x %s (%s) = %s, but %s %s x %s %s -> %s" % (
                        f["a"], f["b"], f["relation"], f["verdict"], a_comp, a_ver, bc, bv,
                        "no rule" if r is None else "%s via %s" % (r["verdict"], r["id"])))
                    bad += 1
    if not bad:
        ck.ok("facts verdicts: %d representative lookups reproduce the facts (%d general/role facts checked above instead)" % (checked, skipped))


# --------------------------------------------------------------------------- main
def summary(data):
    from collections import Counter
    rs, ru = data["releases"], data["rules"]
    print("releases: %d  %s" % (len(rs), dict(Counter(r["status"] for r in rs))))
    print("          by component %s" % dict(Counter(r["component"] for r in rs)))
    print("rules:    %d  %s" % (len(ru), dict(Counter(r["status"] for r in ru))))
    print("          by verdict %s" % dict(Counter(r["verdict"] for r in ru)))
    print("          by group %s" % dict(Counter("%s/%s/%s" % (r["a"]["component"], r["b"]["component"], r["relation"]) for r in ru)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rules", nargs="?", default=os.path.join(here, "rules.yaml"))
    ap.add_argument("--facts", default=DEFAULT_FACTS, help="compat-facts.yaml to cross-check against (skipped if absent)")
    ap.add_argument("--no-facts", action="store_true", help="skip the facts cross-check")
    ap.add_argument("--json", metavar="OUT", help="also write the validated file as JSON")
    ap.add_argument("-q", "--quiet", action="store_true", help="print failures and the summary only")
    args = ap.parse_args()

    ck = Checker(args.quiet)
    with open(args.rules, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not check_schema(data, ck):
        print("\n%d schema error(s); stopping" % len(ck.errors))
        return 1
    ck.ok("schema, enums, components, ids, source+status, requirement syntax")
    check_overlaps(data, ck)
    check_shadowing(data, ck)
    check_matcher(ck)
    R = Rules(data)
    run_assertions(R, ck)
    if not args.no_facts:
        if os.path.exists(args.facts):
            with open(args.facts, encoding="utf-8") as fh:
                facts_crosscheck(R, yaml.safe_load(fh), ck)
        else:
            print("skip  facts cross-check: %s not found" % args.facts)
    print()
    summary(data)
    if args.json and not ck.errors:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, ensure_ascii=False)
        print("wrote %s" % args.json)
    print("\n%s: %d check(s) passed, %d failure(s)" % ("FAILED" if ck.errors else "PASSED", ck.passed, len(ck.errors)))
    return 1 if ck.errors else 0


if __name__ == "__main__":
    sys.exit(main())
