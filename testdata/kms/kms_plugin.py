#!/usr/bin/env python3
"""A small but real KMS plugin (KMS v2 or v1beta1 API) for atrest's --kms tests.

It speaks gRPC on a unix socket exactly like a production plugin, so atrest is
tested against the same wire it meets in a cluster. Messages are encoded by
hand (proto3 wire format) instead of with generated protobuf code: the
messages are tiny and this keeps the test side to grpcio + cryptography.

Service and message definitions: k8s.io/kms/apis/v2/api.proto and
k8s.io/kms/apis/v1beta1/api.proto.

Wrap formats (AES-256-GCM under the KEK of a key ID, AAD = the key ID):
  v2: nonce(12) || ciphertext || tag(16)          (key ID travels in key_id)
  v1: len(keyID) (1 byte) || keyID || nonce(12) || ciphertext || tag(16)
"""

import os

# Close whatever the parent left open (a test process's other pipes) before the
# slow imports: a plugin holding another test's pipe would make it wait for end
# of file until the plugin stops.
os.closerange(3, os.sysconf("SC_OPEN_MAX"))

import argparse
import base64
import hashlib
import json
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Annotation the plugin attaches on Encrypt and checks on Decrypt. The
# kube-apiserver rejects annotation keys that are not fully qualified domain
# names (kmsv2/envelope.go validateAnnotations), so this must be one.
KEK_ANNOTATION = "kek.kms.atrest.example"

# --- proto3 wire format ------------------------------------------------------


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _field_bytes(num, data):
    # proto3 omits fields that hold their default (empty) value.
    if not data:
        return b""
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _field_str(num, s):
    return _field_bytes(num, s.encode("utf-8"))


def _field_map(num, mapping):
    # map<string,bytes> is a repeated entry message {key = 1; value = 2}.
    out = b""
    for k in sorted(mapping):
        entry = _field_str(1, k) + _field_bytes(2, mapping[k])
        out += _varint(num << 3 | 2) + _varint(len(entry)) + entry
    return out


def parse_fields(buf):
    """Decode a message into {field number: [values]}; unknown fields are kept
    and ignored by the callers, as proto3 parsers do."""
    fields = {}
    i = 0
    while i < len(buf):
        tag, i = _read_varint(buf, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            val, i = _read_varint(buf, i)
        elif wt == 2:
            n, i = _read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated length-delimited field")
            val, i = bytes(buf[i:i + n]), i + n
        elif wt == 1:
            val, i = bytes(buf[i:i + 8]), i + 8
        elif wt == 5:
            val, i = bytes(buf[i:i + 4]), i + 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        fields.setdefault(num, []).append(val)
    return fields


def _get(fields, num, default=b""):
    # proto3: the last occurrence of a scalar field wins.
    return fields.get(num, [default])[-1]


def _get_str(fields, num):
    return _get(fields, num).decode("utf-8")


def _get_map(fields, num):
    out = {}
    for entry in fields.get(num, []):
        e = parse_fields(entry)
        out[_get_str(e, 1)] = _get(e, 2)
    return out


# --- wrapping ----------------------------------------------------------------


def wrap(kek, key_id, plaintext, nonce=None):
    nonce = nonce or os.urandom(12)
    return nonce + AESGCM(kek).encrypt(nonce, plaintext, key_id.encode("utf-8"))


def unwrap(kek, key_id, blob):
    return AESGCM(kek).decrypt(blob[:12], blob[12:], key_id.encode("utf-8"))


def split_v1(blob):
    """v1 ciphertext -> (key ID, nonce||ct||tag)."""
    if not blob:
        raise ValueError("empty ciphertext")
    n = blob[0]
    if len(blob) < 1 + n:
        raise ValueError("ciphertext shorter than its key ID")
    return blob[1:1 + n].decode("utf-8"), blob[1 + n:]


# --- servicer ----------------------------------------------------------------


class Plugin:
    def __init__(self, args):
        with open(args.keks) as f:
            self.keks = {k: base64.b64decode(v) for k, v in json.load(f).items()}
        if args.current_key_id not in self.keks:
            sys.exit("current key ID %r is not in %s" % (args.current_key_id, args.keks))
        self.current = args.current_key_id
        self.healthz = args.healthz
        self.status_version = args.status_version
        self.delay = args.delay
        self.decrypt_delay = args.decrypt_delay
        self.misbehave = args.misbehave
        self.calls = open(args.calls, "a") if args.calls else None
        self.lock = threading.Lock()

    def log(self, record):
        if self.calls:
            with self.lock:
                self.calls.write(json.dumps(record) + "\n")
                self.calls.flush()

    def begin(self, decrypting=False, context=None):
        delay = self.delay + (self.decrypt_delay if decrypting else 0.0)
        if delay:
            time.sleep(delay)
        if decrypting and self.misbehave == "huge-error":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "E" * (1 << 20))

    def answer(self, plaintext):
        """A Decrypt answer: the DEK, or 8 MiB where it belongs (--misbehave huge-plaintext)."""
        if self.misbehave == "huge-plaintext":
            plaintext = b"\0" * (8 << 20)
        return _field_bytes(1, plaintext)

    def kek(self, key_id, context):
        kek = self.keks.get(key_id)
        if kek is None:
            context.abort(grpc.StatusCode.NOT_FOUND, 'unknown key ID "%s"' % key_id)
        return kek

    def open_or_abort(self, kek, key_id, blob, context):
        try:
            return unwrap(kek, key_id, blob)
        except (InvalidTag, ValueError):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          'ciphertext does not open under key ID "%s"' % key_id)

    # v2.KeyManagementService

    def v2_status(self, req, context):
        self.log({"method": "Status"})
        self.begin()
        return (_field_str(1, self.status_version) + _field_str(2, self.healthz)
                + _field_str(3, self.current))

    def v2_decrypt(self, req, context):
        ciphertext, key_id = _get(req, 1), _get_str(req, 3)
        annotations = _get_map(req, 4)
        self.log({"method": "Decrypt", "key_id": key_id,
                  "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest()})
        self.begin(decrypting=True, context=context)
        kek = self.kek(key_id, context)
        # Absent is fine (objects written before the annotation existed).
        tagged = annotations.get(KEK_ANNOTATION)
        if tagged is not None and tagged != key_id.encode("utf-8"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          'annotation %s is "%s", request key ID is "%s"'
                          % (KEK_ANNOTATION, tagged.decode("utf-8", "replace"), key_id))
        return self.answer(self.open_or_abort(kek, key_id, ciphertext, context))

    def v2_encrypt(self, req, context):
        # atrest is read-only and must never call this; the log proves it.
        self.log({"method": "Encrypt", "key_id": self.current})
        self.begin()
        ct = wrap(self.keks[self.current], self.current, _get(req, 1))
        return (_field_bytes(1, ct) + _field_str(2, self.current)
                + _field_map(3, {KEK_ANNOTATION: self.current.encode("utf-8")}))

    # v1beta1.KeyManagementService

    def v1_version(self, req, context):
        self.log({"method": "Version"})
        self.begin()
        return _field_str(1, "v1beta1") + _field_str(2, "atrest-test-kms") + _field_str(3, "0.1.0")

    def v1_decrypt(self, req, context):
        cipher = _get(req, 2)
        try:
            key_id, blob = split_v1(cipher)
        except (ValueError, UnicodeDecodeError):
            key_id, blob = None, None
        record = {"method": "Decrypt"}
        if key_id is not None:
            record["key_id"] = key_id
        record["ciphertext_sha256"] = hashlib.sha256(cipher).hexdigest()
        self.log(record)
        self.begin(decrypting=True, context=context)
        if key_id is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "ciphertext has no key ID header")
        kek = self.kek(key_id, context)
        return self.answer(self.open_or_abort(kek, key_id, blob, context))

    def v1_encrypt(self, req, context):
        self.log({"method": "Encrypt", "key_id": self.current})
        self.begin()
        kid = self.current.encode("utf-8")
        ct = bytes([len(kid)]) + kid + wrap(self.keks[self.current], self.current, _get(req, 2))
        return _field_bytes(1, ct)


def _handler(fn):
    return grpc.unary_unary_rpc_method_handler(
        fn, request_deserializer=parse_fields, response_serializer=lambda b: b)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", choices=["v2", "v1"], required=True)
    p.add_argument("--socket", required=True)
    p.add_argument("--keks", required=True, help='JSON {"<keyID>": "<base64 of 32 bytes>"}')
    p.add_argument("--current-key-id", required=True)
    p.add_argument("--healthz", default="ok")
    p.add_argument("--status-version", default="v2")
    p.add_argument("--delay", type=float, default=0.0, help="seconds to sleep before every answer")
    p.add_argument("--decrypt-delay", type=float, default=0.0,
                   help="more seconds to sleep before every Decrypt answer (a plugin that slows down mid-run)")
    p.add_argument("--calls", help="append one JSON line per call")
    p.add_argument("--misbehave", choices=["huge-plaintext", "huge-error"],
                   help="answer every Decrypt as a hostile plugin would")
    p.add_argument("--pid-file", help="written once the server is listening")
    args = p.parse_args()

    plugin = Plugin(args)
    if args.api == "v2":
        service = "v2.KeyManagementService"
        methods = {"Status": plugin.v2_status, "Decrypt": plugin.v2_decrypt,
                   "Encrypt": plugin.v2_encrypt}
    else:
        service = "v1beta1.KeyManagementService"
        methods = {"Version": plugin.v1_version, "Decrypt": plugin.v1_decrypt,
                   "Encrypt": plugin.v1_encrypt}

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        service, {name: _handler(fn) for name, fn in methods.items()}),))
    if server.add_insecure_port("unix:" + args.socket) == 0:
        sys.exit("cannot listen on unix:" + args.socket)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()

    if args.pid_file:
        # Rename is atomic: a reader sees no file or the whole pid, never half.
        tmp = args.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(tmp, args.pid_file)

    while not stop.wait(0.5):
        pass
    server.stop(0).wait()


if __name__ == "__main__":
    main()
