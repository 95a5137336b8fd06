"""kopnet addresses: ``"kop"`` + base58(public key || checksum).

The checksum is the first 4 bytes of BLAKE3
``derive_key("kopnet 2026 address checksum v1", public_key)``; the
alphabet is Bitcoin's base58 (as the ledger's ``PublicKey::to_address``
and the wallet's ``address.js``).
"""

from . import blake3

PREFIX = "kop"
CHECKSUM_CONTEXT = "kopnet 2026 address checksum v1"
ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class AddressError(ValueError):
    """An invalid address; ``kind`` is prefix, encoding, length or checksum."""

    def __init__(self, kind):
        super().__init__(f"invalid address ({kind})")
        self.kind = kind


def base58_encode(data):
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    out = ""
    while n > 0:
        n, r = divmod(n, 58)
        out = ALPHABET[r] + out
    return "1" * zeros + out


def base58_decode(text):
    n = 0
    for ch in text:
        v = ALPHABET.find(ch)
        if v < 0:
            raise AddressError("encoding")
        n = n * 58 + v
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + body


def _checksum(public_key):
    return blake3.derive_key(CHECKSUM_CONTEXT, public_key)[:4]


def to_address(public_key):
    """The address of a 32-byte ed25519 public key."""
    public_key = bytes(public_key)
    if len(public_key) != 32:
        raise AddressError("length")
    return PREFIX + base58_encode(public_key + _checksum(public_key))


def from_address(text):
    """The 32-byte public key of an address, or raise :class:`AddressError`."""
    text = str(text).strip()
    if not text.startswith(PREFIX):
        raise AddressError("prefix")
    body = text[len(PREFIX):]
    if not body or len(body) > 64:
        raise AddressError("length")
    raw = base58_decode(body)
    if len(raw) != 36:
        raise AddressError("length")
    key, checksum = raw[:32], raw[32:]
    if _checksum(key) != checksum:
        raise AddressError("checksum")
    return key
