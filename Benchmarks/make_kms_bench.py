#!/usr/bin/env python3
"""Writes the KMS benchmark's inputs: N secrets stored as KMS v2 envelopes, and
the same N secrets under aesgcm, the baseline they are timed against.

    python3 Benchmarks/make_kms_bench.py N OUTDIR

writes
  OUTDIR/kms.json      etcdctl `get "" --prefix -w json` export: every value is
                       `k8s:enc:kms:v2:kms-v2:` + EncryptedObject, HKDF-seed type,
                       key ID k1, the seed wrapped by k1's KEK in
                       testdata/kms/keks.json (so testdata/kms/kms_plugin.py
                       unwraps it); entry i uses seed i % 4: four Decrypt calls
                       read all N
  OUTDIR/kms.yaml      testdata/kms/config.yaml with only the kms-v2 provider and identity
  OUTDIR/aesgcm.json   the same keys and plaintexts, `k8s:enc:aesgcm:v1:key1:` +
                       nonce(12) + ciphertext||tag, AAD = etcd key
  OUTDIR/aesgcm.yaml   secrets -> aesgcm key1, identity

Keys are `/registry/secrets/ns-<i % 100>/s-<i>`, written in etcd's byte order;
plaintexts are 1 KiB protobuf Secrets. Every value is current. Deterministic:
fixed keys and seeds, counter nonces and HKDF infos (never reused under one key).

Formats (k8s.io/apiserver, pkg/storage/value/encrypt/):
  envelope/kmsv2/envelope.go, envelope/kmsv2/v2/api.proto   (KMS v2 value)
  aes/aes_extended_nonce.go  (seed: data = info(32) || nonce(12) || AES-GCM under
                              HKDF-Expand-SHA256(seed, info, 32); expand only)
  aes/aes.go                 (aesgcm: nonce(12) || AES-GCM, AAD = etcd key)
The seed wrap is the test plugin's: nonce(12) || AES-256-GCM(KEK, AAD = key ID).

Two worker processes encrypt; the parent writes both exports in order.
"""
import base64
import hashlib
import json
import multiprocessing
import os
import struct
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from wire import field as pb, varint

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
KEKS = os.path.join(ROOT, "testdata", "kms", "keks.json")
KEY_ID = "k1"
SEEDS = 4
PLAINTEXT_SIZE = 1024
NAMESPACES = 100
CHUNK = 5000

GCM_KEY = bytes(range(32))
V2_PREFIX = b"k8s:enc:kms:v2:kms-v2:"
GCM_PREFIX = b"k8s:enc:aesgcm:v1:key1:"
SEED_TYPE = 1  # EncryptedDEKSourceType HKDF_SHA256_XNONCE_AES_GCM_SEED


def seed(n):
    return hashlib.sha256(b"atrest-kms-bench/seed/%d" % n).digest()


def object_tails(kek):
    """Per seed: the EncryptedObject fields after `data` (key ID, the wrapped
    seed, the source type). One wrap per seed, shared by its objects, as the
    apiserver stores them."""
    tails = []
    for n in range(SEEDS):
        nonce = hashlib.sha256(b"atrest-kms-bench/wrap/%d" % n).digest()[:12]
        wrapped = nonce + AESGCM(kek).encrypt(nonce, seed(n), KEY_ID.encode())
        tails.append(pb(2, KEY_ID.encode()) + pb(3, wrapped) + varint(5 << 3) + varint(SEED_TYPE))
    return tails


def secret_object(name, namespace, filler):
    """`k8s\\x00` + runtime.Unknown{TypeMeta{v1, Secret}, raw = Secret{ObjectMeta, data}},
    PLAINTEXT_SIZE bytes."""
    type_meta = pb(1, pb(1, b"v1") + pb(2, b"Secret"))
    head = pb(1, pb(1, name) + pb(3, namespace))
    data_len = PLAINTEXT_SIZE - 40 - len(head)
    for _ in range(4):
        obj = b"k8s\x00" + type_meta + pb(2, head + pb(2, pb(1, b"data") + pb(2, filler[:data_len])))
        if len(obj) == PLAINTEXT_SIZE:
            break
        data_len += PLAINTEXT_SIZE - len(obj)
    return obj


def sorted_keys(count):
    """(etcd key, i) for every entry, in etcd's byte order."""
    return sorted(((b"/registry/secrets/ns-%d/s-%d" % (i % NAMESPACES, i), i) for i in range(count)),
                  key=lambda e: e[0])


_tails = None
_filler = hashlib.sha256(b"atrest-kms-bench/filler").digest() * (PLAINTEXT_SIZE // 32)


def _init(kek):
    global _tails
    _tails = object_tails(kek)


def encrypt_chunk(job):
    """Both exports' `kvs` items for a run of sorted positions."""
    start, items = job
    b64 = base64.b64encode
    sha256 = hashes.SHA256()
    gcm = AESGCM(GCM_KEY)
    seeds = [seed(n) for n in range(SEEDS)]
    kms_out, gcm_out = [], []
    for position, (key, i) in enumerate(items, start):
        parts = key.split(b"/")
        plaintext = secret_object(parts[4], parts[3], _filler)
        s = i % SEEDS
        # Counters: unique per object, so no (key, nonce) pair repeats.
        info = b"atrest-kms-bench/info/\x00\x00" + struct.pack(">Q", i)
        nonce = struct.pack(">4sQ", b"kmsb", i)
        dek = HKDFExpand(algorithm=sha256, length=32, info=info).derive(seeds[s])
        data = info + nonce + AESGCM(dek).encrypt(nonce, plaintext, key)
        kms_value = V2_PREFIX + pb(1, data) + _tails[s]
        gnonce = struct.pack(">4sQ", b"gcmb", i)
        gcm_value = GCM_PREFIX + gnonce + gcm.encrypt(gnonce, plaintext, key)
        revision = b"%d" % (position + 2)
        head = (b',' if position else b'') + b'{"key":"' + b64(key) + b'","create_revision":' + revision \
            + b',"mod_revision":' + revision + b',"version":1,"value":"'
        kms_out.append(head + b64(kms_value) + b'"}')
        gcm_out.append(head + b64(gcm_value) + b'"}')
    return b"".join(kms_out), b"".join(gcm_out)


def kms_yaml():
    return """\
# testdata/kms/config.yaml with only the kms-v2 provider (and identity).
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
      - identity: {}
"""


def aesgcm_yaml():
    return f"""\
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
    providers:
      - aesgcm:
          keys:
            - name: key1
              secret: {base64.b64encode(GCM_KEY).decode()}
      - identity: {{}}
"""


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        sys.exit(__doc__)
    count, outdir = int(sys.argv[1]), sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    started = time.time()
    with open(KEKS) as f:
        kek = base64.b64decode(json.load(f)[KEY_ID])
    keys = sorted_keys(count)
    jobs = [(start, keys[start:start + CHUNK]) for start in range(0, count, CHUNK)]
    header = (b'{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,"revision":'
              + b"%d" % (count + 1) + b',"raft_term":2},"kvs":[')
    trailer = b'],"count":' + b"%d" % count + b"}\n"
    paths = {name: os.path.join(outdir, name) for name in ("kms.json", "aesgcm.json")}
    # Streamed: at a million entries each export is about 1.5 GB.
    with open(paths["kms.json"] + ".tmp", "wb") as kms_file, \
            open(paths["aesgcm.json"] + ".tmp", "wb") as gcm_file, \
            multiprocessing.Pool(2, initializer=_init, initargs=(kek,)) as pool:
        kms_file.write(header)
        gcm_file.write(header)
        for kms_chunk, gcm_chunk in pool.imap(encrypt_chunk, jobs):
            kms_file.write(kms_chunk)
            gcm_file.write(gcm_chunk)
        kms_file.write(trailer)
        gcm_file.write(trailer)
    for path in paths.values():
        os.replace(path + ".tmp", path)
    for name, text in (("kms.yaml", kms_yaml()), ("aesgcm.yaml", aesgcm_yaml())):
        with open(os.path.join(outdir, name), "w") as f:
            f.write(text)
    sizes = ", ".join(f"{name} {os.path.getsize(path) / 1e6:.1f} MB" for name, path in paths.items())
    print(f"{count} entries ({SEEDS} KMS v2 seeds), {sizes}, {time.time() - started:.1f} s -> {outdir}")


if __name__ == "__main__":
    main()
