#!/usr/bin/env python3
"""Generates the `atrest audit` end-to-end fixture: etcd entries encrypted exactly as
the kube-apiserver writes them, the EncryptionConfigurations to audit them with, and
the verdict each entry must get under each configuration.

An INDEPENDENT encryptor and oracle: it shares no code with atrest. Encryption uses
`cryptography` (AES-CBC + PKCS#7, AES-GCM) and PyNaCl (XSalsa20-Poly1305 secretbox);
layouts follow /work/shared/spec/kubernetes-at-rest.md §1:

  k8s:enc:aescbc:v1:<name>:    IV[16] || AES-CBC(PKCS7(plaintext))            (no AAD)
  k8s:enc:aesgcm:v1:<name>:    NONCE[12] || AES-GCM(plaintext) || TAG[16]     (AAD = full etcd key)
  k8s:enc:secretbox:v1:<name>: NONCE[24] || TAG[16] || XSALSA20(plaintext)    (no AAD)
  k8s:enc:kms:v1:<name>:       BE16 len || wrapped DEK || AES-GCM(DEK) with AAD = etcd key (>= 1.25)
  k8s:enc:kms:v2:<name>:       protobuf EncryptedObject{1 encryptedData, 2 keyID, 3 encryptedDEKSource}

The expected verdicts are computed by `oracle()`, a re-implementation of the apiserver's
read loop (`prefixTransformers.TransformFromStorage`, spec §2) that really decrypts each
value with the configured keys; the verdicts intended for the main configuration are also
written down by hand (`intended`) and checked against the oracle, so the two agree.

Deterministic: fixed keys; IVs and nonces derived from SEED and the etcd key, so a rerun
writes identical bytes. Run from anywhere: python3 testdata/audit/make_fixtures.py
"""
import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
import nacl.secret
import nacl.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = b"atrest-audit-fixture-v1"
# Appears in the data of every object (encrypted or not): it must never be printed by atrest.
MARKER = "ATREST-PLAINTEXT-MARKER-5f0c1e"


def derive(label, n):
    """n deterministic bytes for `label` (IVs, nonces, DEKs)."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(SEED + b"\x00" + label.encode() + b"\x00" + str(counter).encode()).digest()
        counter += 1
    return out[:n]


def key_bytes(name, n):
    return derive("key/" + name, n)


# ---------------------------------------------------------------------------------------
# Keys (name -> secret). Names may contain ':'.
KEYS = {
    ("aesgcm", "key1"): key_bytes("gcm-key1", 32),     # secrets writer; also *.* in config-wildcard
    ("aesgcm", "key2"): key_bytes("gcm-key2", 24),     # secrets, stale; retired in config-rotated
    ("aesgcm", "key3"): key_bytes("gcm-key3", 16),     # secrets, unused: removable
    ("aescbc", "cbc1"): key_bytes("cbc-cbc1", 24),     # secrets, stale
    ("secretbox", "sb1"): key_bytes("sb-sb1", 32),     # secrets, stale
    ("aesgcm", "key:v2"): key_bytes("gcm-key:v2", 32),  # configmaps writer
    ("aesgcm", "key"): key_bytes("gcm-key", 16),       # configmaps, stale
    ("secretbox", "apps1"): key_bytes("sb-apps1", 32),  # *.apps writer
    ("aescbc", "apps-cbc"): key_bytes("cbc-apps-cbc", 16),  # *.apps, stale
    ("aescbc", "all1"): key_bytes("cbc-all1", 32),     # *.* writer
}
# Keys that write values but are in no configuration.
RETIRED = {
    ("aesgcm", "key0"): key_bytes("gcm-key0", 32),
    ("aescbc", "cbc1-old"): key_bytes("cbc-cbc1-old", 24),  # a different secret, used under the name cbc1
}


def b64(data):
    return base64.b64encode(data).decode()


def keyed(provider, name):
    return {"name": name, "secret": b64(KEYS[(provider, name)])}


KMS_V2 = {"kms": {"apiVersion": "v2", "name": "vault", "endpoint": "unix:///var/run/kms-vault.sock", "timeout": "3s"}}
KMS_V1 = {"kms": {"apiVersion": "v1", "name": "legacy-kms", "endpoint": "unix:///var/run/kms-legacy.sock", "cachesize": 100}}
IDENTITY = {"identity": {}}

# Rules: (resources, providers); the Python form of each configuration file.
MAIN = [
    (["secrets"], [
        {"aesgcm": {"keys": [keyed("aesgcm", "key1"), keyed("aesgcm", "key2"), keyed("aesgcm", "key3")]}},
        {"aescbc": {"keys": [keyed("aescbc", "cbc1")]}},
        {"secretbox": {"keys": [keyed("secretbox", "sb1")]}},
        KMS_V2,
        KMS_V1,
        IDENTITY,
    ]),
    # `key:v2` before `key`: the prefix `k8s:enc:aesgcm:v1:key:` also matches `key:v2` values.
    (["configmaps"], [
        {"aesgcm": {"keys": [keyed("aesgcm", "key:v2"), keyed("aesgcm", "key")]}},
        IDENTITY,
    ]),
    # The opt-out pattern: a specific rule before the wildcard.
    (["events"], [IDENTITY]),
    (["*.apps"], [
        {"secretbox": {"keys": [keyed("secretbox", "apps1")]}},
        {"aescbc": {"keys": [keyed("aescbc", "apps-cbc")]}},
        IDENTITY,
    ]),
    (["*.*"], [
        {"aescbc": {"keys": [keyed("aescbc", "all1")]}},
        IDENTITY,
    ]),
]


def without_identity(rules):
    out = []
    for resources, providers in rules:
        kept = [p for p in providers if "identity" not in p]
        out.append((resources, kept if kept else providers))  # events keeps its identity-only list
    return out


def rotated(rules):
    """key2 retired: removed from the secrets rule."""
    out = []
    for resources, providers in rules:
        new = []
        for p in providers:
            if "aesgcm" in p:
                p = {"aesgcm": {"keys": [k for k in p["aesgcm"]["keys"] if k["name"] != "key2"]}}
            new.append(p)
        out.append((resources, new))
    return out


WILDCARD = [
    (["events"], [IDENTITY]),
    (["*.*"], [
        {"aesgcm": {"keys": [keyed("aesgcm", "key1")]}},
        {"secretbox": {"keys": [keyed("secretbox", "apps1")]}},
        IDENTITY,
    ]),
]

CONFIGS = {
    "config.yaml": MAIN,
    "config-no-identity.yaml": without_identity(MAIN),
    "config-rotated.yaml": rotated(MAIN),
    "config-wildcard.yaml": WILDCARD,
}


def yaml_scalar(value):
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def to_yaml(rules, comment):
    lines = ["# " + line for line in comment.splitlines()]
    lines += ["apiVersion: apiserver.config.k8s.io/v1", "kind: EncryptionConfiguration", "resources:"]
    for resources, providers in rules:
        lines.append("  - resources: [" + ", ".join(yaml_scalar(r) for r in resources) + "]")
        lines.append("    providers:")
        for p in providers:
            (ptype, body), = p.items()
            if ptype == "identity":
                lines.append("      - identity: {}")
            elif ptype == "kms":
                lines.append("      - kms:")
                for field_name in ("apiVersion", "name", "endpoint", "cachesize", "timeout"):
                    if field_name in body:
                        lines.append(f"          {field_name}: {yaml_scalar(body[field_name])}")
            else:
                lines.append(f"      - {ptype}:")
                lines.append("          keys:")
                for k in body["keys"]:
                    lines.append(f"            - name: {yaml_scalar(k['name'])}")
                    lines.append(f"              secret: {k['secret']}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Plaintext encodings (spec §5).

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_bytes(number, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def protobuf_object(api_version, kind, name, namespace, data):
    """`k8s\\x00` + runtime.Unknown{typeMeta, raw, contentEncoding "", contentType ""};
    raw = the object: field 1 ObjectMeta{1 name, 3 namespace}, then field 2 as a
    Secret-like data map entry {1 key, 2 value}."""
    meta = pb_bytes(1, name) + (pb_bytes(3, namespace) if namespace else b"")
    raw = pb_bytes(1, meta) + pb_bytes(2, pb_bytes(1, "marker") + pb_bytes(2, data))
    unknown = pb_bytes(1, pb_bytes(1, api_version) + pb_bytes(2, kind)) + pb_bytes(2, raw) + pb_bytes(3, b"") + pb_bytes(4, b"")
    return b"k8s\x00" + unknown


def json_object(api_version, kind, name, namespace, data):
    """A custom resource as the apiserver stores it: json.Encoder output, ending in a newline."""
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    doc = {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": {"marker": data}}
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


# ---------------------------------------------------------------------------------------
# The encryptor.

def enc_aescbc(name, secret, plaintext, label):
    iv = derive("iv/" + label, 16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(secret), modes.CBC(iv)).encryptor()
    return b"k8s:enc:aescbc:v1:" + name.encode() + b":" + iv + enc.update(padded) + enc.finalize()


def enc_aesgcm(name, secret, plaintext, aad, label):
    nonce = derive("nonce/" + label, 12)
    return b"k8s:enc:aesgcm:v1:" + name.encode() + b":" + nonce + AESGCM(secret).encrypt(nonce, plaintext, aad)


def enc_secretbox(name, secret, plaintext, label):
    nonce = derive("nonce/" + label, 24)
    sealed = nacl.secret.SecretBox(secret).encrypt(plaintext, nonce)  # nonce || tag || ciphertext
    assert bytes(sealed) == nonce + sealed.ciphertext
    return b"k8s:enc:secretbox:v1:" + name.encode() + b":" + bytes(sealed)


def enc_kms_v1(name, plaintext, aad, label):
    dek = derive("dek/" + label, 32)
    wrapped = base64.b64encode(dek)  # the upstream mock plugin "wraps" by base64
    nonce = derive("nonce/" + label, 12)
    inner = nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)
    return b"k8s:enc:kms:v1:" + name.encode() + b":" + struct.pack(">H", len(wrapped)) + wrapped + inner


def enc_kms_v2(name, key_id, plaintext, aad, label):
    dek = derive("dek/" + label, 32)
    nonce = derive("nonce/" + label, 12)
    data = nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)
    # EncryptedObject: 1 encryptedData, 2 keyID, 3 encryptedDEKSource; 5 (AES_GCM_KEY = 0) omitted.
    obj = pb_bytes(1, data) + pb_bytes(2, key_id) + pb_bytes(3, base64.b64encode(dek))
    return b"k8s:enc:kms:v2:" + name.encode() + b":" + obj


# ---------------------------------------------------------------------------------------
# The oracle: the apiserver's read loop for one resource's provider list (spec §2).

KNOWN_PROVIDERS = ("aescbc", "aesgcm", "secretbox")


def looks_like_k8s(plaintext):
    """What the apiserver's decoder accepts after a transformer: protobuf, JSON, CBOR."""
    return plaintext.startswith(b"k8s\x00") or plaintext.startswith(b"{") or plaintext.startswith(b"\xd9\xd9\xf7")


def try_decrypt(ptype, secret, payload, aad):
    """Plaintext, or None on failure (the transformer's error)."""
    try:
        if ptype == "aesgcm":
            if len(payload) < 12:
                return None
            return AESGCM(secret).decrypt(payload[:12], payload[12:], aad)
        if ptype == "aescbc":
            if len(payload) < 32 or len(payload) % 16:
                return None
            dec = Cipher(algorithms.AES(secret), modes.CBC(payload[:16])).decryptor()
            padded = dec.update(payload[16:]) + dec.finalize()
            pad = padded[-1]
            if pad == 0 or pad > len(padded) or padded[-pad:] != bytes([pad]) * pad:
                return None
            return padded[:-pad]
        if ptype == "secretbox":
            if len(payload) < 40:
                return None
            return nacl.secret.SecretBox(secret).decrypt(payload[24:], payload[:24])
    except Exception:  # InvalidTag, CryptoError
        return None
    raise AssertionError(ptype)


def group_resource(key):
    """etcd key -> (group, resource), for the keys this fixture uses (spec §4)."""
    parts = key.decode().split("/")
    assert parts[1] == "registry", key
    seg = parts[2]
    if seg in ("masterleases", "peerserverleases") or (seg == "ranges" and parts[3] in ("serviceips", "servicenodeports")):
        return None  # exempt
    table = {"secrets": ("", "secrets"), "configmaps": ("", "configmaps"), "events": ("", "events"),
             "pods": ("", "pods"), "deployments": ("apps", "deployments"), "statefulsets": ("apps", "statefulsets"),
             "leases": ("coordination.k8s.io", "leases")}
    if seg in table:
        return table[seg]
    assert "." in seg, key
    return (seg, parts[3])


def providers_for(rules, group, resource):
    def parse(r):
        res, _, grp = r.partition(".")
        return (grp, res)
    exact = [p for resources, providers in rules for r in resources if parse(r) == (group, resource) for p in providers]
    if exact:
        return exact
    for target in ((group, "*"), ("*", "*")):
        for resources, providers in rules:
            if any(parse(r) == target for r in resources):
                return providers
    return [IDENTITY]


def chain(providers):
    """Entries (provider index, key index, type, key name, prefix, secret)."""
    out = []
    for i, p in enumerate(providers):
        (ptype, body), = p.items()
        if ptype == "identity":
            out.append((i, 0, "identity", None, b"", None))
        elif ptype == "kms":
            out.append((i, 0, "kms", body["name"], f"k8s:enc:kms:{body.get('apiVersion', 'v1')}:{body['name']}:".encode(), None))
        else:
            for j, k in enumerate(body["keys"]):
                out.append((i, j, ptype, k["name"], f"k8s:enc:{ptype}:v1:{k['name']}:".encode(), base64.b64decode(k["secret"])))
    return out


def stored_as(value, entries):
    """(storage, provider, keyName) as read from the bytes; the key name resolved against
    the configured names when one matches (names may contain ':'), else up to the next ':'."""
    if not value.startswith(b"k8s:enc:"):
        return "plaintext", "identity", None
    rest = value[len(b"k8s:enc:"):]
    parts = rest.split(b":")
    ptype, version = parts[0].decode(), parts[1].decode()
    if ptype in KNOWN_PROVIDERS and version == "v1":
        names = [e[3] for e in entries if e[2] == ptype and value.startswith(e[4])]
        name = max(names, key=len) if names else parts[2].decode()
        return "encrypted", ptype, name
    if ptype == "kms" and version in ("v1", "v2"):
        names = [e[3] for e in entries if e[2] == "kms" and value.startswith(e[4])]
        return "encrypted", "kms", (max(names, key=len) if names else parts[2].decode())
    return "encrypted", None, None  # unknown provider: none of the documented ones


def oracle(rules, key, value):
    gr = group_resource(key)
    if gr is None:
        return {"verdict": "exempt", "storage": stored_as(value, [])[0], "provider": stored_as(value, [])[1], "keyName": None}
    providers = providers_for(rules, *gr)
    entries = chain(providers)
    storage, provider, name = stored_as(value, entries)
    result = {"storage": storage, "provider": provider, "keyName": name}
    encrypted = value.startswith(b"k8s:enc:")
    first_encrypts = "identity" not in providers[0]
    for i, j, ptype, kname, prefix, secret in entries:
        if not value.startswith(prefix):
            continue
        if ptype == "identity":
            if encrypted:
                continue  # identity fails silently on k8s:enc: data
            verdict = "current" if (i, j) == (0, 0) else ("unencrypted" if first_encrypts else "stale")
            return dict(result, verdict=verdict)
        if ptype == "kms":
            return dict(result, verdict="unverifiable")
        plaintext = try_decrypt(ptype, secret, value[len(prefix):], key)
        if plaintext is None:
            continue
        if not looks_like_k8s(plaintext):
            # CBC with a wrong key whose padding happens to be valid: the transformer
            # "succeeds" with random bytes, which the apiserver's decoder then rejects.
            return dict(result, verdict="undecryptable")
        return dict(result, keyName=kname, verdict="current" if (i, j) == (0, 0) else "stale")
    return dict(result, verdict="undecryptable")


# ---------------------------------------------------------------------------------------
# The entries.

def obj(key, *, json_cr=False):
    parts = key.decode().split("/")
    name = parts[-1]
    namespaced = len(parts) == (6 if json_cr else 5)
    namespace = parts[-2] if namespaced else None
    data = f"{MARKER} of {key.decode()}"
    if json_cr:
        return json_object("example.com/v1", "Widget", name, namespace, data)
    kinds = {"secrets": ("v1", "Secret"), "configmaps": ("v1", "ConfigMap"), "events": ("v1", "Event"), "pods": ("v1", "Pod"),
             "deployments": ("apps/v1", "Deployment"), "statefulsets": ("apps/v1", "StatefulSet"),
             "leases": ("coordination.k8s.io/v1", "Lease"), "masterleases": ("v1", "Endpoints"), "ranges": ("v1", "RangeAllocation"), "peerserverleases": ("v1", "Endpoints")}
    api_version, kind = kinds[parts[2]]
    return protobuf_object(api_version, kind, name, namespace, data)


def build_entries():
    E = []  # (key, value, intended verdict under config.yaml, note)

    def add(key, value, intended, note):
        E.append((key.encode(), value, intended, note))

    def K(p, n):
        return KEYS.get((p, n)) or RETIRED[(p, n)]

    def gcm(key, name, *, aad=None, secret_name=None):
        k = key.encode()
        return enc_aesgcm(name, K("aesgcm", secret_name or name), obj(k), (aad or key).encode(), key)

    def cbc(key, name, *, secret_name=None, plaintext_key=None, label=None, json_cr=False):
        k = key.encode()
        return enc_aescbc(name, K("aescbc", secret_name or name), obj((plaintext_key or key).encode(), json_cr=json_cr), label or key)

    def sbox(key, name, *, plaintext_key=None):
        return enc_secretbox(name, K("secretbox", name), obj((plaintext_key or key).encode()), key)

    s = "/registry/secrets/default/"
    # secrets: aesgcm[key1, key2, key3], aescbc[cbc1], secretbox[sb1], kms v2 vault, kms v1 legacy-kms, identity
    add(s + "gcm-key1", gcm(s + "gcm-key1", "key1"), "current", "aesgcm, first provider, first key (AES-256)")
    add(s + "gcm-key2", gcm(s + "gcm-key2", "key2"), "stale", "aesgcm second key (AES-192)")
    add("/registry/secrets/kube-system/gcm-key2", gcm("/registry/secrets/kube-system/gcm-key2", "key2"), "stale", "aesgcm second key (AES-192)")
    add(s + "cbc1", cbc(s + "cbc1", "cbc1"), "stale", "aescbc, second provider (AES-192)")
    add(s + "sb1", sbox(s + "sb1", "sb1"), "stale", "secretbox, third provider")
    add(s + "plain", obj((s + "plain").encode()), "unencrypted", "protobuf plaintext read through trailing identity")
    add(s + "kms-v2", enc_kms_v2("vault", "vault-key-7", obj((s + "kms-v2").encode()), (s + "kms-v2").encode(), s + "kms-v2"),
        "unverifiable", "KMS v2 by the listed provider vault")
    add(s + "kms-v1", enc_kms_v1("legacy-kms", obj((s + "kms-v1").encode()), (s + "kms-v1").encode(), s + "kms-v1"),
        "unverifiable", "KMS v1 by the listed provider legacy-kms")
    add(s + "kms-v2-unlisted", enc_kms_v2("other-kms", "k-1", obj((s + "kms-v2-unlisted").encode()), (s + "kms-v2-unlisted").encode(),
                                          s + "kms-v2-unlisted"), "undecryptable", "KMS v2 by a provider name no rule lists")
    add(s + "gcm-moved", gcm(s + "gcm-moved", "key1", aad=s + "gcm-original"), "undecryptable",
        "aesgcm value written for another etcd key (AAD mismatch)")
    add(s + "cbc-moved", cbc(s + "cbc-moved", "cbc1", plaintext_key=s + "cbc-original", label=s + "cbc-original"), "stale",
        "aescbc value copied from another etcd key: no AAD, still readable")
    add(s + "sb-moved", sbox(s + "sb-moved", "sb1", plaintext_key=s + "sb-original"), "stale",
        "secretbox value copied from another etcd key: no AAD, still readable")
    add(s + "retired-key0", gcm(s + "retired-key0", "key0"), "undecryptable", "aesgcm with a key name no longer configured")
    add(s + "unknown-provider", b"k8s:enc:foo:v1:key1:" + derive("unknown", 48), "undecryptable", "unknown provider k8s:enc:foo:v1:")
    add(s + "gcm-truncated", gcm(s + "gcm-truncated", "key1")[:len("k8s:enc:aesgcm:v1:key1:") + 20], "undecryptable",
        "aesgcm value cut after 20 payload bytes")
    add(s + "cbc-wrong-key", cbc(s + "cbc-wrong-key", "cbc1", secret_name="cbc1-old"), "undecryptable",
        "aescbc named cbc1 but encrypted with another secret (bad padding)")
    # A wrong key whose padding happens to be valid: search a deterministic label until the
    # configured cbc1 key decrypts it to a last byte 0x01 (about 1 in 256).
    key = s + "cbc-wrong-key-valid-padding"
    for attempt in range(100000):
        value = cbc(key, "cbc1", secret_name="cbc1-old", label=f"{key}#{attempt}")
        out = Cipher(algorithms.AES(KEYS[("aescbc", "cbc1")]), modes.CBC(value[23:39])).decryptor()
        padded = out.update(value[39:]) + out.finalize()
        if padded[-1] == 1 and not looks_like_k8s(padded):
            break
    add(key, value, "undecryptable", "aescbc with a wrong key that passes the padding check: random bytes, not a Kubernetes encoding")

    c = "/registry/configmaps/default/"
    # configmaps: aesgcm[key:v2, key], identity
    add(c + "colon-v2", gcm(c + "colon-v2", "key:v2"), "current", "key name with ':' (k8s:enc:aesgcm:v1:key:v2:), AES-256")
    add(c + "colon-key", gcm(c + "colon-key", "key"), "stale", "key named 'key' (AES-128), the second key")
    add(c + "colon-v2-moved", gcm(c + "colon-v2-moved", "key:v2", aad=c + "colon-v2"), "undecryptable",
        "key:v2 value copied from another etcd key (AAD mismatch)")
    add(c + "plain", obj((c + "plain").encode()), "unencrypted", "plaintext configmap")

    d = "/registry/deployments/default/"
    # *.apps: secretbox[apps1], aescbc[apps-cbc], identity
    add(d + "web", sbox(d + "web", "apps1"), "current", "*.apps rule, secretbox")
    add(d + "api", cbc(d + "api", "apps-cbc"), "stale", "*.apps rule, aescbc second provider (AES-128)")
    add(d + "plain", obj((d + "plain").encode()), "unencrypted", "*.apps rule, plaintext")
    add("/registry/statefulsets/default/db", sbox("/registry/statefulsets/default/db", "apps1", plaintext_key=d + "web"), "current",
        "secretbox value copied from a deployment's key to a statefulset: no AAD, readable")

    ev = "/registry/events/default/"
    # events: identity only, before *.*
    add(ev + "ev1", obj((ev + "ev1").encode()), "current", "identity-only rule before *.*: plaintext is current")
    add(ev + "ev-encrypted", cbc(ev + "ev-encrypted", "all1"), "undecryptable",
        "encrypted by the *.* key, but events are exempted by an identity-only rule")

    p = "/registry/pods/default/"
    # *.*: aescbc[all1], identity
    add(p + "pod-cbc", cbc(p + "pod-cbc", "all1"), "current", "*.* rule, aescbc AES-256")
    add(p + "pod-plain", obj((p + "pod-plain").encode()), "unencrypted", "*.* rule, plaintext")
    add(p + "pod-gcm-key1", gcm(p + "pod-gcm-key1", "key1"), "undecryptable", "aesgcm key1 belongs to secrets, not to *.*")
    add("/registry/leases/kube-system/lease-cbc", cbc("/registry/leases/kube-system/lease-cbc", "all1"), "current",
        "*.* rule, a built-in of another group (leases.coordination.k8s.io)")
    add("/registry/example.com/widgets/default/w1", cbc("/registry/example.com/widgets/default/w1", "all1", json_cr=True), "current",
        "custom resource under *.*, JSON, aescbc")
    add("/registry/example.com/widgets/default/w2", json_object("example.com/v1", "Widget", "w2", "default", f"{MARKER} of w2"),
        "unencrypted", "custom resource under *.*, plaintext JSON")

    # Never encrypted by the apiserver.
    add("/registry/masterleases/10.0.0.1", obj(b"/registry/masterleases/10.0.0.1"), "exempt", "apiserver lease (Endpoints)")
    add("/registry/ranges/serviceips", obj(b"/registry/ranges/serviceips"), "exempt", "service IP range allocation")
    return E


def main():
    entries = build_entries()
    headers = {
        "config.yaml": "The main configuration of the atrest audit fixture (generated by make_fixtures.py; do not edit).",
        "config-no-identity.yaml": "config.yaml without identity (except the identity-only events rule); generated.",
        "config-rotated.yaml": "config.yaml with aesgcm key2 retired (removed); generated.",
        "config-wildcard.yaml": "events exempted (identity) before *.* (aesgcm key1, secretbox apps1, identity); generated.",
    }
    out = []
    for key, value, intended, note in entries:
        expected = {name: oracle(rules, key, value) for name, rules in CONFIGS.items()}
        got = expected["config.yaml"]["verdict"]
        assert got == intended, f"{key}: oracle says {got}, intended {intended}"
        out.append({
            "key": b64(key),
            "value": b64(value),
            "note": note,
            "expected": expected["config.yaml"],
            "expectedUnder": {name: e for name, e in expected.items() if name != "config.yaml"},
        })
    out.sort(key=lambda e: base64.b64decode(e["key"]))
    keys = [e["key"] for e in out]
    assert len(set(keys)) == len(keys)
    # Coverage the fixture promises.
    verdicts = {e["expected"]["verdict"] for e in out}
    assert verdicts == {"current", "stale", "unencrypted", "undecryptable", "unverifiable", "exempt"}, verdicts
    assert {e["expected"]["provider"] for e in out} >= {"identity", "aescbc", "aesgcm", "secretbox", "kms"}
    assert any(e["expectedUnder"]["config-no-identity.yaml"]["verdict"] == "undecryptable"
               and e["expected"]["storage"] == "plaintext" for e in out)
    for name, rules in CONFIGS.items():
        with open(os.path.join(HERE, name), "w") as f:
            f.write(to_yaml(rules, headers[name]))
    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    with open(os.path.join(HERE, "entries.json"), "w") as f:
        f.write(text)
    assert len(text) < 100 * 1024, len(text)
    counts = {}
    for e in out:
        counts[e["expected"]["verdict"]] = counts.get(e["expected"]["verdict"], 0) + 1
    print(f"{len(out)} entries, {len(text)} bytes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
