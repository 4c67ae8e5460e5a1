#!/usr/bin/env bash
# Regenerates the etcd export fixtures in this directory from a real etcd 3.4
# (Debian's etcd-server/etcd-client 3.4.23). See README.md for what each file is.
#
# Usage: testdata/etcd/make-fixtures.sh            (writes into testdata/etcd/)
#        ETCD=/path/to/etcd ETCDCTL=/path/to/etcdctl testdata/etcd/make-fixtures.sh
#
# etcd listens on 127.0.0.1 only, on free ports, with a private temp data dir;
# an EXIT trap stops it by pid and removes the temp dir, also on failure.
set -euo pipefail

OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/lib/etcd.sh
source "$OUT/../../scripts/lib/etcd.sh"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/atrest-etcd-fixtures.XXXXXX")"
start_etcd atrest-fixture "$WORK"

# put KEY VALUEFILE [etcdctl flags]: the value is read from stdin, byte for byte
# (etcdctl reads all of stdin: NUL bytes and trailing newlines are kept; verified below).
# An empty stdin is an error for etcdctl put, so an empty value is passed as "".
put() {
    local k="$1" f="$2"; shift 2
    if [[ -s "$f" ]]; then ctl put "$@" -- "$k" <"$f" >/dev/null
    else ctl put "$@" -- "$k" "" >/dev/null; fi
}
putv() { local k="$1" v="$2"; printf "%s" "$v" >"$WORK/putv"; put "$k" "$WORK/putv"; }
del() { ctl del -- "$1" >/dev/null; }

# --- values: deterministic bytes (sha256 chain from a fixed seed) -------------
mkdir -p "$WORK/v"
python3 - "$WORK/v" <<'PY'
import hashlib, os, sys
d = sys.argv[1]
def stream(label, n):
    """n random-looking bytes, a pure function of label."""
    out, block = b"", hashlib.sha256(b"atrest-fixture:" + label.encode()).digest()
    while len(out) < n:
        out += block
        block = hashlib.sha256(block).digest()
    return out[:n]
def noisy(label, n):
    """Like stream, but guaranteed to contain NUL and newline bytes."""
    b = bytearray(stream(label, n))
    b[3] = 0x00; b[11] = 0x0a; b[12] = 0x00; b[n // 2] = 0x0a
    return bytes(b)
def pb_bytes(field, data): return bytes([field << 3 | 2]) + varint(len(data)) + data
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f; n >>= 7
        if n: out.append(b | 0x80)
        else: out.append(b); return bytes(out)
def k8s_proto(api, kind, label, n):
    # runtime.Unknown-like: magic, TypeMeta{apiVersion, kind}, raw with NUL/\n
    typemeta = pb_bytes(1, api.encode()) + pb_bytes(2, kind.encode())
    return b"k8s\x00" + pb_bytes(1, typemeta) + pb_bytes(2, noisy(label, n)) + pb_bytes(3, b"") + pb_bytes(4, b"")
def w(name, data):
    with open(os.path.join(d, name), "wb") as f: f.write(data)

w("s1.v1", k8s_proto("v1", "Secret", "s1.v1", 40))
w("s1.v2", k8s_proto("v1", "Secret", "s1.v2", 44))
w("s1", b"k8s:enc:aescbc:v1:key1:" + noisy("s1", 32))
w("s2", b"k8s:enc:aesgcm:v1:key2:" + noisy("s2", 31) + b"\n")      # trailing newline
w("s3", b"k8s:enc:secretbox:v1:k3:" + noisy("s3", 40))
dek = noisy("cm1.dek", 32)
w("cm1", b"k8s:enc:kms:v1:my-kms:" + len(dek).to_bytes(2, "big") + dek + noisy("cm1", 48))
encobj = (pb_bytes(1, noisy("kms2.data", 48))      # encryptedData
          + pb_bytes(2, b"key-id-1")               # keyID
          + pb_bytes(3, noisy("kms2.dek", 32))     # encryptedDEKSource
          + bytes([5 << 3 | 0]) + varint(1))       # encryptedDEKSourceType = AES_GCM_KEY
w("kms2", b"k8s:enc:kms:v2:kms-v2:" + encobj)
w("unknown", b"k8s:enc:rot13:v1:x:" + noisy("unknown", 24))
w("gone", b"k8s:enc:aescbc:v1:key1:" + noisy("gone", 32))
w("p1", k8s_proto("v1", "Pod", "p1", 64))
w("ns", k8s_proto("v1", "Namespace", "ns", 24))
w("svc", k8s_proto("v1", "Service", "svc", 24))
w("node", k8s_proto("v1", "Node", "node", 24))
w("ep", k8s_proto("v1", "Endpoints", "ep", 16))
w("range", k8s_proto("v1", "RangeAllocation", "range", 16))
w("cbor", b"\xd9\xd9\xf7" + b"\xa2dkindeThingjapiVersionucbor.example.com/v1" + noisy("cbor", 16))
w("crd", b'{"kind":"CustomResourceDefinition","apiVersion":"apiextensions.k8s.io/v1",'
         b'"metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com",'
         b'"names":{"plural":"widgets","kind":"Widget"},"scope":"Namespaced"}}\n')
w("w1", b'{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1","namespace":"default"},"spec":{"size":3}}\n')
w("yaml", b"apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\nspec:\n  colour: \"blue\\nred\"\n")
w("recreated.1", k8s_proto("v1", "ConfigMap", "recreated.1", 16))
w("recreated.2", k8s_proto("v1", "ConfigMap", "recreated.2", 16))
w("empty", b"")
PY
V="$WORK/v"

# --- the key space; the order fixes every revision ---------------------------
putv compact_rev_key 1
put /registry/secrets/default/s1 "$V/s1.v1"                   # plaintext ...
put /registry/namespaces/default "$V/ns"
put /registry/pods/default/p1 "$V/p1"
put /registry/secrets/default/s1 "$V/s1.v2"                   # ... still plaintext ...
put /registry/secrets/kube-system/s2 "$V/s2"
put /registry/secrets/default/s3 "$V/s3"
put /registry/secrets/default/gone "$V/gone"
put /registry/configmaps/default/cm1 "$V/cm1"
put /registry/secrets/default/kms2 "$V/kms2"
put /registry/secrets/default/unknown "$V/unknown"
del /registry/secrets/default/gone
put /registry/configmaps/default/recreated "$V/recreated.1"
put /registry/secrets/default/s1 "$V/s1"                      # ... encrypted: plaintext lives on in history
del /registry/configmaps/default/recreated
put /registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com "$V/crd"
put /registry/example.com/widgets/default/w1 "$V/w1"
put /registry/cbor.example.com/things/t1 "$V/cbor"
put /registry/example.com/gadgets/default/g1 "$V/yaml"
put /registry/services/specs/default/kubernetes "$V/svc"
put /registry/minions/node-1 "$V/node"
# A lease with a fixed ID > 2^53 (etcdctl lease grant picks a time-based ID; the
# gateway lets us choose it, so the fixtures stay the same from run to run).
LEASE_ID=7587861231683425117   # 0x694d7f968772d35d, not representable as a double
curl -sf --max-time 5 -X POST "$CLIENT/v3/lease/grant" -d "{\"TTL\":3600,\"ID\":$LEASE_ID}" >/dev/null
put /registry/masterleases/10.0.0.1 "$V/ep" --lease="$(printf '%x' "$LEASE_ID")"
put /registry/ranges/serviceips "$V/range"
put /registry/configmaps/default/recreated "$V/recreated.2"
# One txn, two keys: same main revision, sub-revisions 0 and 1. etcdctl txn
# un-quotes Go-quoted arguments, so binary values can be written here too.
printf '\nput "/registry/configmaps/kube-system/txn-a" "k8s\\x00txn\\na"\nput "/registry/secrets/kube-system/txn-b" "k8s:enc:aescbc:v1:key1:\\x00\\n\\xff\\xfetxn-b"\n\n\n' \
    | ctl txn >/dev/null
putv /other/app/config $'setting=1\nother=2\n'
putv $'/other/weird\nkey' 'value of a key with a newline'
putv $'/registry/odd/\xff\xfe' 'non-UTF-8 key'
put /other/empty "$V/empty"

# --- verify every value went in byte for byte --------------------------------
ctl get "" --prefix -w json >"$WORK/check.json"
python3 - "$WORK/check.json" "$V" <<'PY'
import base64, json, os, sys
doc = json.load(open(sys.argv[1])); d = sys.argv[2]
got = {base64.b64decode(kv["key"]): base64.b64decode(kv.get("value", "")) for kv in doc["kvs"]}
want = {
    b"/registry/secrets/default/s1": "s1", b"/registry/secrets/kube-system/s2": "s2",
    b"/registry/secrets/default/s3": "s3", b"/registry/configmaps/default/cm1": "cm1",
    b"/registry/secrets/default/kms2": "kms2", b"/registry/secrets/default/unknown": "unknown",
    b"/registry/pods/default/p1": "p1", b"/registry/namespaces/default": "ns",
    b"/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com": "crd",
    b"/registry/example.com/widgets/default/w1": "w1", b"/registry/cbor.example.com/things/t1": "cbor",
    b"/registry/example.com/gadgets/default/g1": "yaml", b"/registry/services/specs/default/kubernetes": "svc",
    b"/registry/minions/node-1": "node", b"/registry/masterleases/10.0.0.1": "ep",
    b"/registry/ranges/serviceips": "range", b"/registry/configmaps/default/recreated": "recreated.2",
    b"/other/empty": "empty",
}
for k, name in want.items():
    assert got[k] == open(os.path.join(d, name), "rb").read(), k
assert got[b"/registry/configmaps/kube-system/txn-a"] == b"k8s\x00txn\na"
assert got[b"/registry/secrets/kube-system/txn-b"] == b"k8s:enc:aescbc:v1:key1:\x00\n\xff\xfetxn-b"
assert got[b"/other/weird\nkey"] == b"value of a key with a newline"
assert got[b"/registry/odd/\xff\xfe"] == b"non-UTF-8 key"
assert got[b"compact_rev_key"] == b"1" and got[b"/other/app/config"] == b"setting=1\nother=2\n"
assert b"/registry/secrets/default/gone" not in got
assert len(got) == doc["count"] == 24, (len(got), doc["count"])
print("make-fixtures: all %d values verified byte for byte" % len(got), file=sys.stderr)
PY

# --- exports -----------------------------------------------------------------
REV="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["header"]["revision"])' "$WORK/check.json")"
ctl get "" --prefix -w json   >"$OUT/export.json"
ctl get "" --prefix -w fields >"$OUT/export.fields.txt"
ctl get "" --prefix --hex     >"$OUT/export.hex.txt"
ctl get "" --prefix           >"$OUT/export.simple.txt"

# Pages: --limit 5 at the revision pinned by the first page; the next page starts
# at <last key>\x00 (--from-key). etcdctl takes keys from argv, which cannot hold a
# NUL byte, so each next page is asked from the first key that follows
# <last key>\x00 at revision R (the first key of the gateway's answer for
# range [<last key>\x00, \x00) at R): same range at R, hence the same response.
# The script checks that each etcdctl page equals the gateway's page.
rm -f "$OUT"/page-*.json
ctl get "" --prefix --limit 5 -w json >"$OUT/page-1.json"
PINNED="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["header"]["revision"])' "$OUT/page-1.json")"
n=1
while :; do
    next="$(python3 - "$OUT/page-$n.json" "$CLIENT" "$PINNED" <<'PY'
import base64, json, sys, urllib.request
page, client, rev = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
if not page.get("more"):
    sys.exit(0)
start = base64.b64decode(page["kvs"][-1]["key"]) + b"\x00"
req = {"key": base64.b64encode(start).decode(), "range_end": "AA==", "limit": 5, "revision": rev}
r = urllib.request.Request(client + "/v3/kv/range", json.dumps(req).encode(), {"Content-Type": "application/json"})
gw = json.load(urllib.request.urlopen(r, timeout=5))
# print the next start key as hex, for bash to turn into argv bytes
print(base64.b64decode(gw["kvs"][0]["key"]).hex())
open(sys.argv[1] + ".gw", "w").write(json.dumps(gw))
PY
)"
    [[ -z "$next" ]] && break
    key="$(printf '%s' "$next" | sed 's/../\\x&/g')"
    n=$((n + 1))
    key="$(printf '%b.' "$key")"; key="${key%.}"   # the dot keeps trailing newlines
    ctl get "$key" --from-key --limit 5 --rev "$PINNED" -w json >"$OUT/page-$n.json" 2>"$WORK/err" \
        || { cat "$WORK/err" >&2; exit 1; }
    python3 - "$OUT/page-$n.json" "$OUT/page-$((n - 1)).json.gw" <<'PY'
import json, sys
et, gw = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
norm = lambda kvs: [{k: str(v) for k, v in kv.items()} for kv in kvs]
assert norm(et["kvs"]) == norm(gw["kvs"]) and str(et["count"]) == gw["count"] \
    and bool(et.get("more")) == bool(gw.get("more")), "etcdctl page differs from gateway page"
PY
    rm -f "$OUT/page-$((n - 1)).json.gw"
done
rm -f "$OUT"/page-*.json.gw

# grpc-gateway JSON: whole key space (key = range_end = "\x00"), 64-bit integers as strings.
curl -sf --max-time 5 -X POST "$CLIENT/v3/kv/range" -d '{"key":"AA==","range_end":"AA=="}' >"$OUT/gateway.json"
echo >>"$OUT/gateway.json"

rm -f "$OUT/snapshot.db"
ctl snapshot save "$OUT/snapshot.db" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }

# Stop cleanly (SIGTERM), then copy the raw bbolt file: no sha256 trailer.
stop_etcd
cp "$WORK/data/member/snap/db" "$OUT/member-snap.db"
chmod 644 "$OUT/snapshot.db" "$OUT/member-snap.db"
echo "make-fixtures: wrote $(ls "$OUT" | grep -v -e make-fixtures.sh -e README.md | tr '\n' ' ')at revision $REV" >&2
