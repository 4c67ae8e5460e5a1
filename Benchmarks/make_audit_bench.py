#!/usr/bin/env python3
"""Writes an `atrest audit` benchmark input: an etcdctl `get "" --prefix -w json`
export of N entries REALLY encrypted as the apiserver writes them, and the matching
EncryptionConfiguration.

    python3 Benchmarks/make_audit_bench.py OUTDIR [N]      (N defaults to 100000)

writes OUTDIR/export.json and OUTDIR/config.yaml; then
    atrest audit OUTDIR/export.json --config OUTDIR/config.yaml

Mix (by entry index): 60% aesgcm key1 (AES-256, AAD = etcd key), 20% secretbox box1,
10% aescbc cbc1 (AES-256, PKCS#7), 10% protobuf plaintext; 1 KiB plaintexts.
Secrets are `/registry/secrets/<ns>/<name>`, all under one rule
(aesgcm, secretbox, aescbc, identity): verdicts current / stale / stale / unencrypted.
Deterministic: fixed keys; nonces and IVs are counters (never reused per key), and the
object bytes come from a seeded generator, so reruns give identical files.
The export is written directly in etcdctl's format (keys sorted byte-wise, header,
create/mod revisions, version 1, count), not read from an etcd, and streamed to
disk. `entries(N)` yields the same pairs for loading a real etcd (load_audit_etcd.py).
"""
import base64
import os
import random
import struct
import sys
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
import nacl.bindings

from wire import field as pb

GCM_KEY = bytes(range(32))
BOX_KEY = bytes(range(32, 64))
CBC_KEY = bytes(range(64, 96))
PLAINTEXT_SIZE = 1024


def secret_object(name, namespace, filler):
    """`k8s\\x00` + runtime.Unknown{TypeMeta{v1, Secret}, raw=Secret{ObjectMeta, data}, "", ""}."""
    meta = pb(1, name) + pb(3, namespace)
    head = pb(1, meta)
    # Pad the data value so the whole object is PLAINTEXT_SIZE bytes.
    frame = b"k8s\x00" + pb(1, pb(1, b"v1") + pb(2, b"Secret")) + pb(3, b"") + pb(4, b"")
    overhead = len(frame) + len(head) + 2 + 3 + 1 + 3 + 8 + 3  # tags and lengths, generously
    data_len = max(16, PLAINTEXT_SIZE - overhead)
    for _ in range(4):
        raw = head + pb(2, pb(1, b"data") + pb(2, filler[:data_len]))
        obj = b"k8s\x00" + pb(1, pb(1, b"v1") + pb(2, b"Secret")) + pb(2, raw) + pb(3, b"") + pb(4, b"")
        if len(obj) == PLAINTEXT_SIZE:
            break
        data_len += PLAINTEXT_SIZE - len(obj)
    return obj


def entries(count):
    """Yields the benchmark's (etcd key, stored value) pairs in etcd's byte order."""
    rng = random.Random(20240601)
    gcm = AESGCM(GCM_KEY)
    cbc_cipher = algorithms.AES(CBC_KEY)
    box_prefix, gcm_prefix, cbc_prefix = b"k8s:enc:secretbox:v1:box1:", b"k8s:enc:aesgcm:v1:key1:", b"k8s:enc:aescbc:v1:cbc1:"

    keys = []
    width = len(str(count))
    for i in range(count):
        namespace = f"ns-{i % 97:02d}"
        keys.append(f"/registry/secrets/{namespace}/secret-{i:0{width}d}".encode())
    keys.sort()  # etcdctl returns keys in byte order

    filler_pool = rng.randbytes(PLAINTEXT_SIZE * 64)
    for i, key in enumerate(keys):
        parts = key.split(b"/")
        offset = (i * 131) % (len(filler_pool) - PLAINTEXT_SIZE)
        plaintext = secret_object(parts[4], parts[3], filler_pool[offset:offset + PLAINTEXT_SIZE])
        kind = i % 10
        if kind < 6:
            nonce = struct.pack("<4sQ", b"\x00\x00\x00\x01", i)
            value = gcm_prefix + nonce + gcm.encrypt(nonce, plaintext, key)
        elif kind < 8:
            nonce = struct.pack("<16sQ", b"atrest-bench-box", i)
            value = box_prefix + nonce + nacl.bindings.crypto_secretbox(plaintext, nonce, BOX_KEY)
        elif kind < 9:
            iv = struct.pack("<8sQ", b"atrestiv", i)
            pad = 16 - len(plaintext) % 16
            enc = Cipher(cbc_cipher, modes.CBC(iv)).encryptor()
            value = cbc_prefix + iv + enc.update(plaintext + bytes([pad]) * pad) + enc.finalize()
        else:
            value = plaintext
        yield key, value


def config_yaml():
    return f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
            - name: key1
              secret: {base64.b64encode(GCM_KEY).decode()}
      - secretbox:
          keys:
            - name: box1
              secret: {base64.b64encode(BOX_KEY).decode()}
      - aescbc:
          keys:
            - name: cbc1
              secret: {base64.b64encode(CBC_KEY).decode()}
      - identity: {{}}
"""


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    os.makedirs(outdir, exist_ok=True)
    started = time.time()
    b64 = base64.b64encode
    header = (b'{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,"revision":'
              + str(count + 1).encode() + b',"raft_term":2},"kvs":[')
    # Streamed: at 4 million entries the export is about 6 GB.
    with open(os.path.join(outdir, "export.json"), "wb") as f:
        f.write(header)
        for i, (key, value) in enumerate(entries(count)):
            revision = i + 2
            f.write((b"," if i else b"") + b'{"key":"' + b64(key) + b'","create_revision":' + str(revision).encode()
                    + b',"mod_revision":' + str(revision).encode() + b',"version":1,"value":"' + b64(value) + b'"}')
        f.write(b'],"count":' + str(count).encode() + b"}\n")

    with open(os.path.join(outdir, "config.yaml"), "w") as f:
        f.write(config_yaml())
    size = os.path.getsize(os.path.join(outdir, "export.json"))
    print(f"{count} entries, {size / 1e6:.1f} MB export, {time.time() - started:.1f} s -> {outdir}/export.json, {outdir}/config.yaml")


if __name__ == "__main__":
    main()
