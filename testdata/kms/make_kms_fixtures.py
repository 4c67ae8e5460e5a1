#!/usr/bin/env python3
"""Write the KMS fixtures: keks.json, config.yaml, export.json, expected.json,
and the same cluster after a KEK rotation: export-rotated.json, expected-rotated.json.

Usage: make_kms_fixtures.py [OUTDIR]   (default: this file's directory)

Deterministic: every key, seed, nonce and HKDF info is SHA-256 of a fixed
label, so two runs write identical bytes. Needs only `cryptography`.

Formats follow k8s.io/apiserver:
  pkg/storage/value/encrypt/envelope/kmsv2/envelope.go   (KMS v2 value, validation, staleness)
  pkg/storage/value/encrypt/envelope/kmsv2/v2/api.proto  (EncryptedObject)
  pkg/storage/value/encrypt/envelope/envelope.go         (KMS v1 value)
  pkg/storage/value/encrypt/aes/aes.go                   (AES-GCM, AES-CBC)
  pkg/storage/value/encrypt/aes/aes_extended_nonce.go    (HKDF seed, expand only)
  pkg/server/options/encryptionconfig/config.go          (v1 reads GCM, then CBC)
The KEK wrap formats are this project's test plugin's (see kms_plugin.py).
"""

import base64
import hashlib
import json
import os
import re
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

V2_PREFIX = b"k8s:enc:kms:v2:kms-v2:"
V1_PREFIX = b"k8s:enc:kms:v1:kms-v1:"
KEK_ANNOTATION = "kek.kms.atrest.example"  # must match kms_plugin.py
AES_GCM_KEY, SEED = 0, 1                   # EncryptedDEKSourceType
CURRENT_KEY_ID = "k1"                      # what the plugin's Status reports
ROTATED_KEY_ID = "k2"                      # ... after the KEK rotation (export-rotated.json)
PLUGIN_KEYS = ("k1", "k2", "legacy")       # k0 is retired: only the generator has it


def d(label, n=32):
    return hashlib.sha256(label.encode()).digest()[:n]


KEKS = {k: d("kek/" + k) for k in ("k0",) + PLUGIN_KEYS}

# --- proto3 wire (just what EncryptedObject needs) ---------------------------


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def ld(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data if data else b""


def encrypted_object(data, key_id, dek_source, annotations, source_type):
    out = ld(1, data) + ld(2, key_id.encode()) + ld(3, dek_source)
    for k in sorted(annotations):
        out += ld(4, ld(1, k.encode()) + ld(2, annotations[k]))
    if source_type:  # proto3 omits the zero enum value
        out += varint(5 << 3) + varint(source_type)
    return out


def parse(buf):
    """Independent decoder for the verification pass: {num: [values]}."""
    fields, i = {}, 0
    while i < len(buf):
        tag, i = read_varint(buf, i)
        if tag & 7 == 0:
            val, i = read_varint(buf, i)
        elif tag & 7 == 2:
            n, i = read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field")
            val, i = buf[i:i + n], i + n
        else:
            raise ValueError("unexpected wire type")
        fields.setdefault(tag >> 3, []).append(val)
    return fields


def read_varint(buf, i):
    shift = n = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, i
        shift += 7


# --- crypto ------------------------------------------------------------------


def wrap_v2(key_id, secret, label):
    nonce = d("wrap-nonce/" + label, 12)
    return nonce + AESGCM(KEKS[key_id]).encrypt(nonce, secret, key_id.encode())


def wrap_v1(key_id, secret, label):
    return bytes([len(key_id)]) + key_id.encode() + wrap_v2(key_id, secret, label)


def gcm_seal(key, nonce, plaintext, aad):
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def hkdf_expand(seed, info):
    return HKDFExpand(algorithm=hashes.SHA256(), length=32, info=info).derive(seed)


def cbc_seal(key, iv, plaintext):
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + enc.update(padded) + enc.finalize()


def cbc_open(key, data):
    if len(data) < 32 or len(data) % 16:
        raise ValueError("bad CBC length")
    dec = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = dec.update(data[16:]) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


# --- the objects ---------------------------------------------------------------


def secret(name):
    token = base64.b64encode(d("token/" + name, 12)).decode()
    return json.dumps({"kind": "Secret", "apiVersion": "v1",
                       "metadata": {"name": name, "namespace": "default"},
                       "type": "Opaque", "data": {"token": token}},
                      separators=(",", ":")).encode()


def configmap(name):
    return json.dumps({"kind": "ConfigMap", "apiVersion": "v1",
                       "metadata": {"name": name, "namespace": "default"},
                       "data": {"setting": d("setting/" + name, 6).hex()}},
                      separators=(",", ":")).encode()


# One encrypted DEK source per (key ID, seed/DEK): the apiserver reuses it for
# every object until it rotates, so shared sources share bytes.
# seed-k2-rotated is the seed the apiserver generates once the plugin's current
# key ID is k2; every value rewritten after the rotation shares it.
SOURCES = {}
for _label, _key_id in [("seed-k1-shared", "k1"), ("seed-k1-other", "k1"),
                        ("seed-k1-annotated", "k1"), ("seed-k2", "k2"),
                        ("seed-k0", "k0"), ("dek-k1", "k1"), ("seed-k2-rotated", "k2")]:
    _raw = d("source/" + _label)
    SOURCES[_label] = (_key_id, _raw, wrap_v2(_key_id, _raw, _label))


def v2(etcd_key, plaintext, source, annotations=None, flip=False, label=""):
    """A KMS v2 value; `label` keeps nonces and HKDF infos of a rewrite apart
    from the first write's."""
    key_id, raw, wrapped = SOURCES[source]
    nonce = d("nonce/" + label + etcd_key, 12)
    if source.startswith("dek"):
        data, stype = gcm_seal(raw, nonce, plaintext, etcd_key.encode()), AES_GCM_KEY
    else:
        info = d("info/" + label + etcd_key)
        data = info + gcm_seal(hkdf_expand(raw, info), nonce, plaintext, etcd_key.encode())
        stype = SEED
    if flip:  # one byte of the GCM ciphertext proper, past info and nonce
        data = bytearray(data)
        data[32 + 12] ^= 0x01
        data = bytes(data)
    return V2_PREFIX + encrypted_object(data, key_id, wrapped, annotations or {}, stype)


def build():
    """Returns [(etcd key, stored value, plaintext, (readable, stale))] in
    write order; the last item is what the fixture is meant to show."""
    v1_dek = d("source/v1-legacy")
    v1_head = V1_PREFIX
    wrapped = wrap_v1("legacy", v1_dek, "v1-legacy")
    v1_head += len(wrapped).to_bytes(2, "big") + wrapped

    s = "/registry/secrets/default/"
    c = "/registry/configmaps/default/"
    out = []

    def add(key, value, plaintext, intent):
        out.append((key, value, plaintext, intent))

    for n in ("seed-k1-a", "seed-k1-b", "seed-k1-c"):
        add(s + n, v2(s + n, secret(n), "seed-k1-shared"), secret(n), (True, False))
    add(s + "seed-k1-other", v2(s + "seed-k1-other", secret("seed-k1-other"), "seed-k1-other"),
        secret("seed-k1-other"), (True, False))
    add(s + "dek-k1", v2(s + "dek-k1", secret("dek-k1"), "dek-k1"), secret("dek-k1"), (True, True))
    add(s + "seed-k2", v2(s + "seed-k2", secret("seed-k2"), "seed-k2"), secret("seed-k2"), (True, True))
    add(s + "retired-k0", v2(s + "retired-k0", secret("retired-k0"), "seed-k0"),
        secret("retired-k0"), (False, False))
    add(s + "tampered", v2(s + "tampered", secret("tampered"), "seed-k1-shared", flip=True),
        secret("tampered"), (False, False))
    add(s + "moved", out[0][1], secret("seed-k1-a"), (False, False))
    for n, mode in (("v1-gcm", "gcm"), ("v1-cbc", "cbc")):
        pt = configmap(n)
        if mode == "gcm":
            data = gcm_seal(v1_dek, d("nonce/" + c + n, 12), pt, (c + n).encode())
        else:
            data = cbc_seal(v1_dek, d("iv/" + c + n, 16), pt)
        add(c + n, v1_head + data, pt, (True, True))
    add(c + "plain", configmap("plain"), configmap("plain"), (True, True))
    add(s + "annotated-k1",
        v2(s + "annotated-k1", secret("annotated-k1"), "seed-k1-annotated",
           {KEK_ANNOTATION: b"k1"}),
        secret("annotated-k1"), (True, False))
    return out


def build_rotated(entries):
    """The cluster after the plugin's current key ID moved from k1 to k2, the
    operator deleted what no longer reads (`etcdctl del`: the list in the next
    step fails on any undecryptable object) and rewrote the rest
    (`kubectl get secrets,configmaps -A -o json | kubectl replace -f -`).

    Returns (deleted keys in delete order, [(etcd key, stored value, plaintext,
    (readable, stale))] in rewrite order). A rewrite goes through the first
    provider, so every value, v1 and plaintext ones too, becomes KMS v2 under
    k2 with the one seed the apiserver made for k2, carrying the annotation
    this plugin's Encrypt returns."""
    by_key = sorted(entries, key=lambda e: e[0].encode())
    deleted = [key for key, _, _, (readable, _) in by_key if not readable]
    kept = [(key, plaintext) for key, _, plaintext, (readable, _) in by_key if readable]
    # kubectl lists secrets, then configmaps, each in etcd key order.
    kept.sort(key=lambda e: (not e[0].startswith("/registry/secrets/"), e[0].encode()))
    out = [(key, v2(key, plaintext, "seed-k2-rotated", {KEK_ANNOTATION: ROTATED_KEY_ID.encode()},
                    label="rotated/"), plaintext, (True, False))
           for key, plaintext in kept]
    return deleted, out


# --- independent read, by the apiserver's rules ------------------------------

FQDN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")


class Unreadable(Exception):
    pass


def plugin_unwrap(key_id, blob):
    """What the test plugin's Decrypt answers (it has no k0)."""
    if key_id not in PLUGIN_KEYS:
        raise Unreadable('KMS plugin: unknown key ID "%s" (NOT_FOUND)' % key_id)
    try:
        return AESGCM(KEKS[key_id]).decrypt(blob[:12], blob[12:], key_id.encode())
    except InvalidTag:
        raise Unreadable("KMS plugin: DEK source does not open under " + key_id)


def read_v2(etcd_key, body, current):
    f = parse(body)
    data = f.get(1, [b""])[-1]
    key_id = f.get(2, [b""])[-1].decode()
    source = f.get(3, [b""])[-1]
    stype = f.get(5, [0])[-1]
    ann = {}
    for e in f.get(4, []):
        ef = parse(e)
        ann[ef.get(1, [b""])[-1].decode()] = ef.get(2, [b""])[-1]
    # kmsv2 ValidateEncryptedObject
    if stype not in (AES_GCM_KEY, SEED) or not data or not source or not key_id:
        raise Unreadable("invalid EncryptedObject")
    if any(not FQDN.match(k) or len(k) > 253 for k in ann):
        raise Unreadable("annotation key is not a fully qualified domain name")
    if ann.get(KEK_ANNOTATION, key_id.encode()) != key_id.encode():
        raise Unreadable("KMS plugin: annotation does not match key ID")
    raw = plugin_unwrap(key_id, source)
    try:
        if stype == SEED:
            key, data = hkdf_expand(raw, data[:32]), data[32:]
        else:
            key = raw
        plaintext = AESGCM(key).decrypt(data[:12], data[12:], etcd_key.encode())
    except (InvalidTag, ValueError):
        raise Unreadable("AES-GCM does not open with AAD = this etcd key "
                         "(data altered, or stored under another key)")
    why = []
    if key_id != current:
        why.append("key ID %s is not the current %s" % (key_id, current))
    if stype != SEED:
        why.append("DEK source type AES_GCM_KEY, current is HKDF seed")
    return plaintext, why, "KMS v2 (kms-v2), key ID %s, %s" % (
        key_id, "HKDF seed" if stype == SEED else "AES_GCM_KEY")


def read_v1(etcd_key, body):
    n = int.from_bytes(body[:2], "big")
    wrapped, data = body[2:2 + n], body[2 + n:]
    kid_len = wrapped[0]
    key_id = wrapped[1:1 + kid_len].decode()
    dek = plugin_unwrap(key_id, wrapped[1 + kid_len:])
    why = ["read by provider 2 (kms-v1), not the first"]
    try:
        pt = AESGCM(dek).decrypt(data[:12], data[12:], etcd_key.encode())
        mode = "AES-GCM"
    except (InvalidTag, ValueError):
        try:  # config.go: v1 envelopes fall back to AES-CBC, and mark it stale
            pt, mode = cbc_open(dek, data), "AES-CBC"
            why.append("AES-CBC data (GCM is current)")
        except ValueError:
            raise Unreadable("neither AES-GCM nor AES-CBC opens")
    return pt, why, "KMS v1 (kms-v1), key ID %s, %s" % (key_id, mode)


def apiserver_read(etcd_key, value, current=CURRENT_KEY_ID):
    try:
        if value.startswith(V2_PREFIX):
            pt, why, how = read_v2(etcd_key, value[len(V2_PREFIX):], current)
        elif value.startswith(V1_PREFIX):
            pt, why, how = read_v1(etcd_key, value[len(V1_PREFIX):])
        elif value.startswith(b"k8s:enc:"):
            raise Unreadable("identity refuses data with an encryption prefix")
        else:
            pt, why, how = value, ["read by provider 3 (identity): stored in plaintext"], "identity"
    except Unreadable as e:
        return None, {"readable": False, "stale": False, "why": str(e)}
    stale = bool(why)
    text = how + ("; stale: " + "; ".join(why) if stale else "; current")
    return pt, {"readable": True, "stale": stale, "why": text}


# --- output ------------------------------------------------------------------


def config_yaml():
    return """\
# Generated by make_kms_fixtures.py; do not edit.
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
      - configmaps
    providers:
      - kms:
          apiVersion: v2
          name: kms-v2
          endpoint: unix:///var/run/kms/v2.sock
          timeout: 3s
      - kms:
          apiVersion: v1
          name: kms-v1
          endpoint: unix:///var/run/kms/v1.sock
          cachesize: 100
          timeout: 3s
      - identity: {}
"""


def check(key, value, plaintext, readable, stale, current):
    """The verdict of one entry, or exit if it is not what the entry means."""
    got, verdict = apiserver_read(key, value, current)
    if (verdict["readable"], verdict["stale"]) != (readable, stale):
        sys.exit("%s: read as %r, meant readable=%s stale=%s" % (key, verdict, readable, stale))
    if readable and got != plaintext:
        sys.exit("%s: decrypted bytes differ from the plaintext" % key)
    return dict(key=key, **verdict)


def kv(key, value, create_revision, mod_revision, version):
    return {"key": base64.b64encode(key.encode()).decode(),
            "create_revision": create_revision, "mod_revision": mod_revision, "version": version,
            "value": base64.b64encode(value).decode()}


def export_json(kvs, revision):
    kvs = sorted(kvs, key=lambda kv: base64.b64decode(kv["key"]))
    export = {"header": {"cluster_id": 14841639068965178418, "member_id": 10276657743932975437,
                         "revision": revision, "raft_term": 2},
              "kvs": kvs, "count": len(kvs)}
    return json.dumps(export, separators=(",", ":")) + "\n"


def expected_json(expected):
    return json.dumps(sorted(expected, key=lambda e: e["key"].encode()), indent=2) + "\n"


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    entries = build()

    expected, kvs, created = [], [], {}
    for rev, (key, value, plaintext, (readable, stale)) in enumerate(entries, start=2):
        expected.append(check(key, value, plaintext, readable, stale, CURRENT_KEY_ID))
        kvs.append(kv(key, value, rev, rev, 1))
        created[key] = rev
    revision = len(entries) + 1

    # After the rotation: every delete and every rewrite is one more revision.
    deleted, rewritten = build_rotated(entries)
    rotated_revision = revision + len(deleted)
    rotated_expected, rotated_kvs = [], []
    for key, value, plaintext, (readable, stale) in rewritten:
        rotated_revision += 1
        rotated_expected.append(check(key, value, plaintext, readable, stale, ROTATED_KEY_ID))
        rotated_kvs.append(kv(key, value, created[key], rotated_revision, 2))

    files = {
        "keks.json": json.dumps({k: base64.b64encode(KEKS[k]).decode() for k in PLUGIN_KEYS},
                                indent=2) + "\n",
        "config.yaml": config_yaml(),
        "export.json": export_json(kvs, revision),
        "expected.json": expected_json(expected),
        "export-rotated.json": export_json(rotated_kvs, rotated_revision),
        "expected-rotated.json": expected_json(rotated_expected),
    }
    for name, text in files.items():
        with open(os.path.join(outdir, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
