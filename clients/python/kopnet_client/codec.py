"""The ledger's exact bytes for the transactions a wallet signs.

kopnet's codec is bincode 2.0.1 with fixed-width little-endian integers:

* ``u64``: 8 bytes LE; an enum variant: its index as ``u32`` LE;
* ``String`` / ``Vec``: ``u64`` LE length, then the bytes;
* ``PublicKey``: its 32 raw bytes; ``[u8; N]``: N raw bytes;
* ``Option``: one byte 0 (None), or 1 then the value.

A transaction body is ``chain_id, signer, nonce, action``; the signature
is ed25519 over ``"kopnet/tx/v1" || 0x00 || codec(body)``; a transaction
on the wire is ``codec(body) || signature`` (64 bytes); its hash is BLAKE3
``derive_key("kopnet 2026 transaction v1", transaction)``. The same rules
as ``ledger/src/tx.rs`` and the phone wallet's ``node/web/codec.js``; the
golden vectors in ``node/web/test/vectors.json`` pin all three.
"""

import struct

from . import blake3
from .address import from_address

SIGNING_DOMAIN = "kopnet/tx/v1"
TX_HASH_CONTEXT = "kopnet 2026 transaction v1"
MEMO_BYTES_MAX = 64
U64_MAX = (1 << 64) - 1

# Variant indexes of the ledger's `Action`, in declaration order
# (ledger/src/tx.rs); only those this client encodes.
ACTIONS = {
    "Mint": 1, "Burn": 2, "Payment": 3, "CashIn": 4, "CashOut": 5,
    "CloseSettlementWindow": 6, "AcknowledgeSettlement": 7, "Approve": 9,
    "RequestPayment": 22, "PayRequest": 23, "DeclineRequest": 24, "CancelRequest": 25,
}


class EncodeError(ValueError):
    """A transaction this client cannot encode (a bad field or action)."""


class _Writer:
    def __init__(self):
        self.out = bytearray()

    def u8(self, n):
        self.out += bytes([n])
        return self

    def u32(self, n):
        self.out += struct.pack("<I", n)
        return self

    def u64(self, n):
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= U64_MAX:
            raise EncodeError(f"not a u64: {n!r}")
        self.out += struct.pack("<Q", n)
        return self

    def string(self, text, bytes_max=None):
        data = str(text).encode("utf-8")
        if bytes_max is not None and len(data) > bytes_max:
            raise EncodeError(f"text longer than {bytes_max} bytes")
        self.u64(len(data))
        self.out += data
        return self

    def key(self, address):
        self.out += from_address(address)
        return self

    def fixed(self, data, n):
        data = bytes(data)
        if len(data) != n:
            raise EncodeError(f"expected {n} bytes, got {len(data)}")
        self.out += data
        return self


def _action(w, action):
    if not isinstance(action, dict) or len(action) != 1:
        raise EncodeError('an action is one {"Name": {...}} object')
    (name, a), = action.items()
    if name not in ACTIONS:
        raise EncodeError(f"this client does not encode {name}")
    w.u32(ACTIONS[name])
    if name == "Payment":
        w.key(a["to"]).u64(a["amount"]).string(a.get("memo", ""), MEMO_BYTES_MAX)
        w.fixed(a["idempotency_id"], 16)
    elif name == "CashOut":
        w.string(a["agent"]).u64(a["amount"])
    elif name in ("Mint", "Burn"):
        w.key(a["member"]).u64(a["amount"])
    elif name == "CashIn":
        w.string(a["agent"]).key(a["member"]).u64(a["amount"])
    elif name in ("CloseSettlementWindow", "AcknowledgeSettlement"):
        w.u64(a["window"])
    elif name == "Approve":
        w.u64(a["proposal"])
    elif name == "RequestPayment":
        w.fixed(a["id"], 16)
        if a.get("payer") is None:
            w.u8(0)
        else:
            w.u8(1).key(a["payer"])
        w.u64(a["amount"]).string(a.get("reference", ""), MEMO_BYTES_MAX)
        w.u64(a["expires_at_ms"])
    elif name == "PayRequest":
        w.key(a["requester"]).fixed(a["id"], 16).u64(a["amount"])
    elif name == "DeclineRequest":
        w.key(a["requester"]).fixed(a["id"], 16)
    elif name == "CancelRequest":
        w.fixed(a["id"], 16)


def encode_body(chain_id, signer, nonce, action):
    """codec(TxBody). ``signer`` is an address; ``action`` uses the API's
    JSON form, e.g. ``{"Payment": {"to", "amount", "memo", "idempotency_id"}}``."""
    w = _Writer().string(chain_id).key(signer).u64(nonce)
    try:
        _action(w, action)
    except KeyError as missing:
        raise EncodeError(f"the action lacks {missing}") from None
    return bytes(w.out)


def signing_bytes(body):
    """What the transaction's signature covers."""
    return SIGNING_DOMAIN.encode() + b"\0" + body


def encode_tx(body, signature):
    """codec(Transaction) = codec(TxBody) || signature."""
    if len(signature) != 64:
        raise EncodeError("a signature is 64 bytes")
    return bytes(body) + bytes(signature)


def tx_hash(tx):
    """A transaction's id as the node computes it (64 hex digits)."""
    return blake3.derive_key(TX_HASH_CONTEXT, tx).hex()
