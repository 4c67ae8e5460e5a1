#!/usr/bin/env python3
"""The audit an operator would write without atrest: read an `etcdctl get "" --prefix
-w json` export, decrypt every value with the EncryptionConfiguration's keys in the
configured provider order, as the apiserver reads, and count the verdicts.

    python3 Benchmarks/peer_audit.py export.json encryption-config.yaml

Prints {"current": N, "stale": N, ...} as JSON. Handles aesgcm, aescbc, secretbox
and identity; the resource is the etcd key's second component (`secrets`)."""
import base64, collections, json, sys

import nacl.exceptions, nacl.secret, yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.padding import PKCS7


def aesgcm(secret):
    gcm = AESGCM(secret)
    return lambda data, key: gcm.decrypt(data[:12], data[12:], key)


def aescbc(secret):
    def decrypt(data, key):
        decryptor = Cipher(algorithms.AES(secret), modes.CBC(data[:16])).decryptor()
        unpadder = PKCS7(128).unpadder()
        return unpadder.update(decryptor.update(data[16:]) + decryptor.finalize()) + unpadder.finalize()
    return decrypt


def secretbox(secret):
    box = nacl.secret.SecretBox(secret)
    return lambda data, key: box.decrypt(data[24:], data[:24])


def providers(rule):
    """[(prefix, decrypt)] in the order the apiserver tries them; identity has no prefix."""
    out = []
    for provider in rule["providers"]:
        (kind, spec), = provider.items()
        if kind == "identity":
            out.append((b"", None))
            continue
        for k in spec["keys"]:
            make = {"aesgcm": aesgcm, "aescbc": aescbc, "secretbox": secretbox}[kind]
            out.append((f"k8s:enc:{kind}:v1:{k['name']}:".encode(), make(base64.b64decode(k["secret"]))))
    return out


def verdict(rule, key, value):
    for position, (prefix, decrypt) in enumerate(rule):
        if decrypt is None:
            if not value.startswith(b"k8s:enc:"):
                return "current" if position == 0 else "unencrypted"
        elif value.startswith(prefix):
            try:
                decrypt(value[len(prefix):], key)
                return "current" if position == 0 else "stale"
            except (InvalidTag, ValueError, nacl.exceptions.CryptoError):
                pass
    return "undecryptable"


def main():
    config = yaml.safe_load(open(sys.argv[2]))
    rules = collections.defaultdict(list)
    for rule in config["resources"]:
        for resource in rule["resources"]:
            rules[resource] += providers(rule)
    counts = collections.Counter()
    for kv in json.load(open(sys.argv[1]))["kvs"]:
        key, value = base64.b64decode(kv["key"]), base64.b64decode(kv.get("value", ""))
        rule = rules.get(key.split(b"/")[2].decode(), rules.get("*.*", [(b"", None)]))
        counts[verdict(rule, key, value)] += 1
    print(json.dumps(dict(sorted(counts.items()))))


if __name__ == "__main__":
    main()
