#!/usr/bin/env python3
"""Loads N Kubernetes-like keys with random values into an etcd through its
grpc-gateway (POST /v3/kv/txn, 128 puts per transaction).

Values: a mix like a real cluster's: 60% aesgcm envelopes, 20% protobuf
plaintext, 10% secretbox, 10% KMS v2 with an EncryptedObject; sizes ~1 KiB.
Deterministic for a given seed."""
import base64, json, random, sys, urllib.request

from wire import field, varint

def value(rng, i, size):
    body = rng.randbytes(size)
    kind = i % 10
    if kind < 6:
        return b"k8s:enc:aesgcm:v1:key1:" + body
    if kind < 8:
        return b"k8s\x00" + body
    if kind < 9:
        return b"k8s:enc:secretbox:v1:box1:" + body
    obj = field(1, body) + field(2, b"key-id-1") + field(3, rng.randbytes(32)) + varint(5 << 3) + varint(1)
    return b"k8s:enc:kms:v2:kms1:" + obj

def main():
    endpoint, count = sys.argv[1], int(sys.argv[2])
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    rng = random.Random(42)
    batch = []
    for i in range(count):
        ns = f"ns-{i % 50:02d}"
        key = f"/registry/secrets/{ns}/secret-{i:08d}".encode()
        batch.append({"requestPut": {"key": base64.b64encode(key).decode(),
                                     "value": base64.b64encode(value(rng, i, size)).decode()}})
        if len(batch) == 128 or i == count - 1:
            req = urllib.request.Request(endpoint + "/v3/kv/txn", data=json.dumps({"success": batch}).encode(),
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=60).read()
            batch = []

if __name__ == "__main__":
    main()
