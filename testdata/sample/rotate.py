#!/usr/bin/env python3
"""A rotation of the `secrets` key of the audit fixture, step by step, for
docs/walkthrough.md: the EncryptionConfiguration of each step and the etcd
contents after the rewrite.

  rotation/step1.yaml                 ../audit/config.yaml with a new aesgcm key `key4` second (read-only)
  rotation/step2.yaml                 key4 first (it writes), key1 second
  rotation/after-rewrite.entries.json the fixture after `kubectl get secrets -A -o json | kubectl replace -f -`
                                      under step2.yaml (same format as ../audit/entries.json)
  rotation/step4.yaml                 step2.yaml without the old keys and providers nothing reads any more

The encryption and the apiserver's read loop are those of ../audit/make_fixtures.py
(imported, not copied), which is independent of atrest. The rewrite reads every
secret through the read loop under step2.yaml, as the apiserver does for `kubectl
get`, and writes the plaintext back encrypted with step2's first key (key4),
AES-GCM with the etcd key as additional data. KMS values are read through the
fixture's mock plugin (the wrapped DEK is the DEK in base64), as a running KMS
plugin would let the apiserver read them. Secrets the read loop cannot read are
left as they are: the apiserver cannot read them either (`kubectl get` fails on
them).

Deterministic: key4's secret and the nonces are derived from make_fixtures.SEED, so
a rerun writes identical bytes. Run from anywhere: python3 testdata/sample/rotate.py
(needs: pip install cryptography pynacl). Then testdata/sample/make-sample.sh loads
the entries into a real etcd and exports them.
"""
import base64
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "audit"))
import make_fixtures as fx  # noqa: E402

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

OUT = os.path.join(HERE, "rotation")
NEW_KEY = "key4"
NEW_SECRET = fx.key_bytes("gcm-key4", 32)
READABLE = ("current", "stale", "unencrypted", "unverifiable")
NEW = {"name": NEW_KEY, "secret": fx.b64(NEW_SECRET)}


def with_secrets_keys(rules, transform):
    """A copy of `rules` whose secrets rule's aesgcm key list is `transform(keys)`."""
    out = []
    for resources, providers in rules:
        if resources == ["secrets"]:
            providers = [{"aesgcm": {"keys": transform(list(p["aesgcm"]["keys"]))}} if "aesgcm" in p else p
                         for p in providers]
        out.append((resources, providers))
    return out


STEP1 = with_secrets_keys(fx.MAIN, lambda keys: keys[:1] + [NEW] + keys[1:])
STEP2 = with_secrets_keys(fx.MAIN, lambda keys: [NEW] + keys)


# ---------------------------------------------------------------------------------------
# Reading a value as the apiserver does (the read loop of make_fixtures), keeping the plaintext.

def pb_fields(data):
    """Length-delimited fields of a protobuf message: {number: bytes}."""
    fields, i = {}, 0
    while i < len(data):
        tag, i = read_varint(data, i)
        assert tag & 7 == 2, tag
        length, i = read_varint(data, i)
        fields[tag >> 3] = data[i:i + length]
        i += length
    return fields


def read_varint(data, i):
    n, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def kms_mock_decrypt(value, prefix, aad):
    """The fixture's KMS values, read as the apiserver would with the mock plugin
    (which "wraps" a DEK by base64)."""
    payload = value[len(prefix):]
    if prefix.startswith(b"k8s:enc:kms:v1:"):
        (n,) = struct.unpack(">H", payload[:2])
        dek = base64.b64decode(payload[2:2 + n])
        inner = payload[2 + n:]
    else:
        fields = pb_fields(payload)
        dek = base64.b64decode(fields[3])
        inner = fields[1]
    return AESGCM(dek).decrypt(inner[:12], inner[12:], aad)


def read(rules, key, value):
    """(verdict, plaintext or None) under `rules`, by the fixture's read loop."""
    verdict = fx.oracle(rules, key, value)
    if verdict["verdict"] not in READABLE:
        return verdict, None
    if verdict["storage"] == "plaintext":
        return verdict, value
    entries = fx.chain(fx.providers_for(rules, *fx.group_resource(key)))
    (entry,) = [e for e in entries if e[2] == verdict["provider"] and e[3] == verdict["keyName"]]
    _, _, ptype, _, prefix, secret = entry
    if ptype == "kms":
        return verdict, kms_mock_decrypt(value, prefix, key)
    plaintext = fx.try_decrypt(ptype, secret, value[len(prefix):], key)
    assert plaintext is not None, key
    return verdict, plaintext


def rewrite(entries):
    """`kubectl get secrets -A -o json | kubectl replace -f -` under STEP2: every readable
    secret written again by STEP2's first provider and key. Returns the new entries."""
    out = []
    for e in entries:
        key, value = base64.b64decode(e["key"]), base64.b64decode(e["value"])
        note = e["note"]
        if key.startswith(b"/registry/secrets/"):
            verdict, plaintext = read(STEP2, key, value)
            if plaintext is not None:
                value = fx.enc_aesgcm(NEW_KEY, NEW_SECRET, plaintext, key, "rotation/" + key.decode())
                note = f"rewritten with aesgcm {NEW_KEY} under step2.yaml (was {verdict['verdict']}: {note})"
            else:
                note = f"left as is by the rewrite: unreadable under step2.yaml ({note})"
        out.append((key, value, note))
    return out


def removable(rules, values):
    """Names of the secrets rule's non-writing keys and KMS providers that read no value
    (by (provider type, name)); identity is not a key and is kept."""
    readers = set()
    for key, value in values:
        if key.startswith(b"/registry/secrets/"):
            v = fx.oracle(rules, key, value)
            if v["verdict"] in READABLE and v["storage"] == "encrypted":
                readers.add((v["provider"], v["keyName"]))
    (secrets,) = [p for r, p in rules if r == ["secrets"]]
    names = []
    for i, p in enumerate(secrets):
        (ptype, body), = p.items()
        if ptype == "identity":
            continue
        for j, k in enumerate(body["keys"] if "keys" in body else [body]):
            if (i, j) != (0, 0) and (ptype, k["name"]) not in readers:
                names.append((ptype, k["name"]))
    return names


def without(rules, names):
    out = []
    for resources, providers in rules:
        if resources == ["secrets"]:
            kept = []
            for p in providers:
                (ptype, body), = p.items()
                if "keys" in body:
                    keys = [k for k in body["keys"] if (ptype, k["name"]) not in names]
                    if keys:
                        kept.append({ptype: {"keys": keys}})
                elif (ptype, body.get("name")) not in names:
                    kept.append(p)
            providers = kept
        out.append((resources, providers))
    return out


def unsafe(before, after, values):
    """Keys readable under `before` and undecryptable under `after` (what `atrest plan` calls breaking)."""
    return [k for k, v in values
            if fx.oracle(before, k, v)["verdict"] in READABLE and fx.oracle(after, k, v)["verdict"] == "undecryptable"]


def main():
    original = json.load(open(os.path.join(HERE, "..", "audit", "entries.json")))
    before = [(base64.b64decode(e["key"]), base64.b64decode(e["value"])) for e in original]
    rewritten = rewrite(original)
    after = [(k, v) for k, v, _ in rewritten]
    drop = removable(STEP2, after)
    step4 = without(STEP2, drop)

    main_rules = fx.MAIN
    # The decisions docs/walkthrough.md relies on, checked with the independent oracle.
    assert not unsafe(main_rules, STEP1, before)
    assert not unsafe(STEP1, STEP2, before)
    assert unsafe(STEP2, step4, before)
    assert not unsafe(STEP2, step4, after)
    for k, v in after:
        verdict = fx.oracle(STEP2, k, v)["verdict"]
        assert not (k.startswith(b"/registry/secrets/") and verdict in ("stale", "unencrypted", "unverifiable")), k

    configs = {
        "step1.yaml": (STEP1, f"Rotation step 1: config.yaml with a new aesgcm key {NEW_KEY} second (read-only) for secrets.\n"
                              "Generated by testdata/sample/rotate.py; do not edit."),
        "step2.yaml": (STEP2, f"Rotation step 2: {NEW_KEY} first (it writes), key1 second.\n"
                              "Generated by testdata/sample/rotate.py; do not edit."),
        "step4.yaml": (step4, "Rotation step 4: step2.yaml without the secrets keys and providers that read nothing after\n"
                              "the rewrite (" + ", ".join(f"{t} {n}" for t, n in drop) + ").\n"
                              "Generated by testdata/sample/rotate.py; do not edit."),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, (rules, comment) in configs.items():
        with open(os.path.join(OUT, name), "w") as f:
            f.write(fx.to_yaml(rules, comment))

    under = {"step2.yaml": STEP2, "config.yaml": main_rules, "step1.yaml": STEP1, "step4.yaml": step4}
    out = []
    for key, value, note in rewritten:
        expected = {name: fx.oracle(rules, key, value) for name, rules in under.items()}
        out.append({
            "key": fx.b64(key),
            "value": fx.b64(value),
            "note": note,
            "expected": expected["step2.yaml"],
            "expectedUnder": {name: e for name, e in expected.items() if name != "step2.yaml"},
        })
    out.sort(key=lambda e: base64.b64decode(e["key"]))
    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    assert len(text) < 100 * 1024, len(text)
    with open(os.path.join(OUT, "after-rewrite.entries.json"), "w") as f:
        f.write(text)
    changed = sum(1 for (k, v), (_, w, _) in zip(before, rewritten) if v != w)
    print(f"{changed} secrets rewritten with {NEW_KEY}; step4 removes " + ", ".join(f"{t} {n}" for t, n in drop))


if __name__ == "__main__":
    main()
