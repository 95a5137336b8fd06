"""The client's bytes against the repository's golden vectors.

The vectors are ``node/web/test/vectors.json``, made by the Rust ledger
(``node/src/web/vectors.rs``) and checked by the phone wallet's JavaScript
too: addresses, bad addresses, transaction bodies, signing bytes,
signatures, encoded transactions and their hashes, and ed25519 edge cases.
Read from the repository, not copied, so a format change that the Rust
side blesses fails here until this client follows.
"""

import json
import os
import pathlib
import sys
import unittest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kopnet_client import address, blake3, codec  # noqa: E402
from kopnet_client.client import REQUEST_SIGNING_DOMAIN, request_message  # noqa: E402

VECTORS = HERE.parents[2] / "node" / "web" / "test" / "vectors.json"

from kopnet_client.keys import NACL_MISSING as NACL, Key  # noqa: E402


def load():
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)


def needs_nacl(test):
    if NACL is None:
        return test
    if os.environ.get("KOPNET_REQUIRE_PYTHON_CLIENT") == "1":
        raise RuntimeError(f"KOPNET_REQUIRE_PYTHON_CLIENT=1 but pynacl cannot be imported: {NACL}")
    return unittest.skip(f"pynacl not importable ({NACL}); install python3-nacl")(test)


class Blake3(unittest.TestCase):
    def test_known_answers(self):
        # BLAKE3's own test inputs: bytes i % 251, across chunk and tree edges.
        self.assertEqual(blake3.hash(b"").hex(),
                         "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
        data = bytes(i % 251 for i in range(3000))
        self.assertEqual(blake3.hash(data).hex(),
                         "5fade288bf27444bee55ba2babb98c3c922c1e84c2e445e7d1f6da24756f5060")


class Addresses(unittest.TestCase):
    def test_keys_give_the_ledgers_addresses(self):
        keys = load()["keys"]
        self.assertGreaterEqual(len(keys), 3)
        for k in keys:
            public = bytes.fromhex(k["public_hex"])
            self.assertEqual(address.to_address(public), k["address"], k["name"])
            self.assertEqual(address.from_address(k["address"]), public)

    def test_bad_addresses_are_refused(self):
        bad = load()["bad_addresses"]
        self.assertTrue(bad)
        for text in bad:
            with self.assertRaises(address.AddressError, msg=text):
                address.from_address(text)


class Transactions(unittest.TestCase):
    def test_bodies_signing_bytes_and_hashes_are_the_ledgers(self):
        v = load()
        self.assertEqual(v["signing_domain"], codec.SIGNING_DOMAIN)
        addresses = {k["name"]: k["address"] for k in v["keys"]}
        self.assertGreaterEqual(len(v["txs"]), 5)
        for t in v["txs"]:
            body = codec.encode_body(t["chain_id"], addresses[t["signer"]], t["nonce"], t["action"])
            self.assertEqual(body.hex(), t["body_hex"], t["name"])
            self.assertEqual(codec.signing_bytes(body).hex(), t["signing_bytes_hex"], t["name"])
            tx = codec.encode_tx(body, bytes.fromhex(t["signature_hex"]))
            self.assertEqual(tx.hex(), t["tx_hex"], t["name"])
            self.assertEqual(codec.tx_hash(tx), t["hash"], t["name"])

    def test_bad_fields_are_refused_before_signing(self):
        ani = load()["keys"][0]["address"]
        payment = {"to": ani, "amount": 1, "memo": "", "idempotency_id": [0] * 16}
        for bad in ({"amount": -1}, {"amount": 1 << 64}, {"memo": "x" * 65},
                    {"idempotency_id": [0] * 15}, {"to": "kop0OIl"}):
            with self.assertRaises(ValueError, msg=bad):
                codec.encode_body("c", ani, 1, {"Payment": {**payment, **bad}})
        with self.assertRaises(codec.EncodeError):
            codec.encode_body("c", ani, 1, {"RegisterMember": {}})


class Signatures(unittest.TestCase):
    @needs_nacl
    def test_seeds_sign_as_the_ledger_does(self):
        v = load()
        seeds = {k["name"]: bytes.fromhex(k["seed_hex"]) for k in v["keys"]}
        for k in v["keys"]:
            self.assertEqual(Key(seeds[k["name"]]).address, k["address"])
        for t in v["txs"]:
            key = Key(seeds[t["signer"]])
            signature = key.sign(codec.SIGNING_DOMAIN, bytes.fromhex(t["body_hex"]))
            self.assertEqual(signature.hex(), t["signature_hex"], t["name"])

    @needs_nacl
    def test_ed25519_edge_cases(self):
        from nacl.signing import SigningKey
        cases = load()["signatures"]
        self.assertGreaterEqual(len(cases), 4)
        for c in cases:
            key = SigningKey(bytes.fromhex(c["seed_hex"]))
            self.assertEqual(bytes(key.verify_key).hex(), c["public_hex"], c["name"])
            signed = key.sign(bytes.fromhex(c["message_hex"])).signature
            self.assertEqual(signed.hex(), c["signature_hex"], c["name"])

    @needs_nacl
    def test_a_request_signature_covers_network_method_path_time_and_body(self):
        from nacl.signing import VerifyKey
        key = Key(bytes(range(32)))
        message = request_message("kopnet-test", "GET", "/v1/accounts/a?x=1", 5, b"")
        self.assertEqual(message, b"kopnet-test\nGET\n/v1/accounts/a?x=1\n5\n"
                         b"af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
        signature = key.sign(REQUEST_SIGNING_DOMAIN, message)
        VerifyKey(key.public_key).verify(b"kopnet/request/v1\0" + message, signature)


if __name__ == "__main__":
    unittest.main()
