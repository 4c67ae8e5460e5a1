#!/usr/bin/env python3
"""Generates crypto_vectors.json for Tests/AtRestEncryptionTests (run once; the JSON is committed).

Needs Python `cryptography` (48 here) and PyNaCl (`pip install pynacl`). Deterministic: fixed
keys, IVs and nonces, so re-running gives the same file. Published known-answer vectors
(GCM spec test case 16, RFC 5869 A.1/A.3) are hand-copied and checked here against
`cryptography` before they are written. Layouts follow pkg/storage/value/encrypt/aes/aes.go and
secretbox/secretbox.go.
"""
import json
import os

import nacl.secret
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

HERE = os.path.dirname(os.path.abspath(__file__))
synthetic = json.load(open(os.path.join(HERE, "synthetic_vectors.json")))
PLAINTEXT = bytes.fromhex(synthetic["plaintext_hex"])  # protobuf Secret, "k8s\0"...
ETCD_KEY = synthetic["etcd_key"].encode()
OTHER_ETCD_KEY = b"/registry/secrets/default/moved"


def key(n, seed):
    return bytes((seed + i * 7) & 0xFF for i in range(n))


def cbc_raw(k, iv, data):
    e = Cipher(algorithms.AES(k), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def cbc_raw_decrypt(k, iv, data):
    d = Cipher(algorithms.AES(k), modes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize()


def pkcs7(data):
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


def hx(b):
    return b.hex()


out = {
    "plaintext_hex": hx(PLAINTEXT),
    "etcd_key": ETCD_KEY.decode(),
    "other_etcd_key": OTHER_ETCD_KEY.decode(),
}

# --- GCM spec (McGrew & Viega) test case 16: AES-256, 60-byte plaintext, 20-byte AAD.
tc16 = {
    "key_hex": "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    "nonce_hex": "cafebabefacedbaddecaf888",
    "aad_hex": "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    "plaintext_hex": "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    "ciphertext_hex": "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    "tag_hex": "76fc6ece0f4e1768cddf8853bb2d551b",
}
ct = AESGCM(bytes.fromhex(tc16["key_hex"])).encrypt(
    bytes.fromhex(tc16["nonce_hex"]), bytes.fromhex(tc16["plaintext_hex"]), bytes.fromhex(tc16["aad_hex"]))
assert ct == bytes.fromhex(tc16["ciphertext_hex"] + tc16["tag_hex"]), "GCM test case 16 mismatch"
out["gcm_spec_test_case_16"] = tc16

# --- aesgcm payloads (nonce || ct || tag, AAD = etcd key) for each AES key size.
out["aesgcm"] = []
for n in (16, 24, 32):
    k, nonce = key(n, 0x10 + n), bytes(range(0x40, 0x4c))
    payload = nonce + AESGCM(k).encrypt(nonce, PLAINTEXT, ETCD_KEY)
    out["aesgcm"].append({"key_hex": hx(k), "payload_hex": hx(payload)})

# --- aescbc payloads (IV || CBC(PKCS#7)) for each AES key size.
out["aescbc"] = []
for n in (16, 24, 32):
    k, iv = key(n, 0x20 + n), bytes(range(0x50, 0x60))
    out["aescbc"].append({"key_hex": hx(k), "payload_hex": hx(iv + cbc_raw(k, iv, pkcs7(PLAINTEXT)))})

# CBC edge cases under the 32-byte key above (raw CBC of chosen, already padded blocks).
cbc_key, cbc_iv = key(32, 0x40), bytes(range(0x50, 0x60))
body = b"k8s\x00" + b"x" * 12
out["aescbc_edge"] = {
    "key_hex": hx(cbc_key),
    # Padding byte 0x20 over two full blocks: upstream accepts any 1 <= pad <= len(plaintext).
    "long_padding_payload_hex": hx(cbc_iv + cbc_raw(cbc_key, cbc_iv, body + bytes([0x20]) * 32)),
    "long_padding_plaintext_hex": hx(body),
    # Last byte 0: "invalid PKCS7 data (empty or not padded)".
    "zero_padding_payload_hex": hx(cbc_iv + cbc_raw(cbc_key, cbc_iv, body + b"y" * 15 + b"\x00")),
    # Last byte 3 but the two before it differ: "invalid padding on input".
    "mismatched_padding_payload_hex": hx(cbc_iv + cbc_raw(cbc_key, cbc_iv, body + b"y" * 13 + b"\x09\x03\x03")),
    # Last byte larger than the plaintext (one block, pad 0x11).
    "oversized_padding_payload_hex": hx(cbc_iv + cbc_raw(cbc_key, cbc_iv, b"k8s\x00" + b"z" * 11 + b"\x11")),
    # A JSON object, correctly padded: must pass the encoding check.
    "json_payload_hex": hx(cbc_iv + cbc_raw(cbc_key, cbc_iv, pkcs7(b'{"kind":"Widget","apiVersion":"example.com/v1"}\n'))),
    # Text that is no Kubernetes encoding, correctly padded.
    "not_kubernetes_payload_hex": hx(cbc_iv + cbc_raw(cbc_key, cbc_iv, pkcs7(b"hello, this is not an object"))),
}

# Wrong keys for the 32-byte aescbc vector, found by search so the tests are deterministic:
# one whose output has invalid padding, one whose output has VALID padding (about 1 in 256)
# but is random bytes, i.e. the case only the encoding check catches.
right = out["aescbc"][2]
payload = bytes.fromhex(right["payload_hex"])
wrong_invalid = wrong_valid = None
for i in range(100000):
    k = bytes([(i >> 8) & 0xFF, i & 0xFF]) + bytes(30)
    pt = cbc_raw_decrypt(k, payload[:16], payload[16:])
    pad = pt[-1]
    valid = 0 < pad <= len(pt) and pt[-pad:] == bytes([pad]) * pad
    if not valid and wrong_invalid is None:
        wrong_invalid = k
    if valid and wrong_valid is None and not pt.startswith(b"k8s\x00"):
        wrong_valid = k
    if wrong_invalid and wrong_valid:
        break
out["aescbc_wrong_keys"] = {"invalid_padding_key_hex": hx(wrong_invalid), "valid_padding_key_hex": hx(wrong_valid)}

# --- secretbox: nonce(24) || tag(16) || ciphertext, PyNaCl (libsodium crypto_secretbox_easy).
sb_key, sb_nonce = key(32, 0x60), bytes(range(0x70, 0x88))
box = nacl.secret.SecretBox(sb_key).encrypt(PLAINTEXT, sb_nonce)
assert bytes(box) == sb_nonce + bytes(box.ciphertext)
out["secretbox"] = {"key_hex": hx(sb_key), "payload_hex": hx(bytes(box))}
sb_empty = nacl.secret.SecretBox(sb_key).encrypt(b"", sb_nonce)
out["secretbox"]["empty_plaintext_payload_hex"] = hx(bytes(sb_empty))

# --- RFC 5869 Appendix A, expand step only (PRK given): A.1 and A.3.
rfc = [
    {"name": "A.1", "prk_hex": "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
     "info_hex": "f0f1f2f3f4f5f6f7f8f9", "length": 42,
     "okm_hex": "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
    {"name": "A.3", "prk_hex": "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
     "info_hex": "", "length": 42,
     "okm_hex": "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
]
for case in rfc:
    got = HKDFExpand(hashes.SHA256(), case["length"], bytes.fromhex(case["info_hex"])).derive(bytes.fromhex(case["prk_hex"]))
    assert got.hex() == case["okm_hex"], case["name"]
out["rfc5869_expand"] = rfc

# --- Upstream core-transformer golden values (aes_test.go, see README.md), re-checked here.
gcm_golden = {"key_ascii": "snorlax_awesomes", "aad_ascii": "bamboo", "plaintext_ascii": "pandas are the best",
              "payload_hex": "9f27c8fcea8a58c467d8e437dbf2d85955f9b4bd912f4ef967d788a0cb07797dac0a3f0a0845605ca85ac8562b4ae1"}
p = bytes.fromhex(gcm_golden["payload_hex"])
assert AESGCM(b"snorlax_awesomes").decrypt(p[:12], p[12:], b"bamboo") == b"pandas are the best"
out["upstream_gcm"] = gcm_golden
xnonce = {"seed_hex": "5d40323a820ff95561675e3b95e81867c5fdd561d35a88a2d08b08aa9d4fcf5c",
          "aad_ascii": "bamboo", "plaintext_ascii": "pandas are the best",
          "encrypted_data_hex": "2442759e33945fbad709db577a0f037fd8a709fc76979b8942209debcecb9d57efe3d6ff6a1ef6ee9a5003b9833b3043cec1e47b35175b151107a8d2416b0e296bbf66b5d102fcefdf9a78f293d271",
          "derived_key_hex": "6e58b7659c304b0c382f42f16bd700465def1dead80bf6f1bf1d52073bdb0c00"}
d = bytes.fromhex(xnonce["encrypted_data_hex"])
dk = HKDFExpand(hashes.SHA256(), 32, d[:32]).derive(bytes.fromhex(xnonce["seed_hex"]))
assert dk.hex() == xnonce["derived_key_hex"]
assert AESGCM(dk).decrypt(d[32:44], d[44:], b"bamboo") == b"pandas are the best"
out["upstream_extended_nonce_gcm"] = xnonce

with open(os.path.join(HERE, "crypto_vectors.json"), "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
print("wrote crypto_vectors.json")
