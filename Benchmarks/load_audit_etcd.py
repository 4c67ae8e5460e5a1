#!/usr/bin/env python3
"""Puts the audit benchmark's entries (make_audit_bench.entries) into a real etcd
through its grpc-gateway (POST /v3/kv/txn), so that `etcdctl snapshot save`
gives a snapshot holding exactly the keys and values of the JSON export.

    python3 Benchmarks/load_audit_etcd.py CLIENT_URL N [PUTS_PER_TXN]

PUTS_PER_TXN (default 1000) must not exceed etcd's --max-txn-ops, and a
transaction's request must fit in --max-request-bytes (about 1.4 KB per put).
Two connections send while the main thread encrypts the next batch, so etcd's
fsync and Python's encryption overlap."""
import base64
import http.client
import json
import queue
import sys
import threading
import urllib.parse

from make_audit_bench import entries


def sender(endpoint, batches, failures):
    url = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    while (body := batches.get()) is not None:
        if failures:
            continue
        try:
            conn.request("POST", "/v3/kv/txn", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            payload = response.read()
            if response.status != 200 or b'"error"' in payload[:200]:
                failures.append(f"etcd answered {response.status}: {payload[:200]!r}")
        except OSError as error:
            failures.append(f"etcd request failed: {error}")
    conn.close()


def main():
    endpoint, count = sys.argv[1], int(sys.argv[2])
    per_txn = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    batches, failures = queue.Queue(maxsize=8), []
    threads = [threading.Thread(target=sender, args=(endpoint, batches, failures)) for _ in range(2)]
    for thread in threads:
        thread.start()
    b64 = lambda data: base64.b64encode(data).decode()
    batch, loaded = [], 0
    for key, value in entries(count):
        batch.append({"requestPut": {"key": b64(key), "value": b64(value)}})
        if len(batch) == per_txn:
            batches.put(json.dumps({"success": batch}).encode())
            loaded += len(batch)
            batch = []
            if failures:
                break
            if loaded % max(per_txn, count // 10 // per_txn * per_txn) == 0:
                print(f"  {loaded:,} of {count:,} entries sent", file=sys.stderr)
    if batch and not failures:
        batches.put(json.dumps({"success": batch}).encode())
        loaded += len(batch)
    for _ in threads:
        batches.put(None)
    for thread in threads:
        thread.join()
    if failures:
        sys.exit(f"load_audit_etcd: {failures[0]}")
    print(f"loaded {loaded} entries")


if __name__ == "__main__":
    main()
