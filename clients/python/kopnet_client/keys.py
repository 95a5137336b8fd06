"""Ed25519 keys (PyNaCl), kopnet's signing rule and key files.

Every kopnet signature is ed25519 over ``domain || 0x00 || message``: the
domain keeps a transaction's signature from ever passing for a request's
or a vote's. Key files are the node's own format (``node/src/keyfile.rs``):
one line of JSON ``{"address", "secret_seed_hex"}``, mode 0600, never
overwritten; a key file that group or others may read is refused.
"""

import json
import os
import stat

from .address import to_address

try:
    from nacl.signing import SigningKey
    NACL_MISSING = None
except ImportError as e:  # addresses and bytes work without it; signing does not
    SigningKey = None
    NACL_MISSING = str(e)


class KeyFileError(Exception):
    """A key file that cannot be read, written or trusted."""


class Key:
    """An ed25519 key pair from a 32-byte seed."""

    def __init__(self, seed):
        seed = bytes(seed)
        if len(seed) != 32:
            raise ValueError("a seed is 32 bytes")
        if SigningKey is None:
            raise ImportError(
                f"kopnet_client signs with PyNaCl (Debian: python3-nacl), which cannot be imported: {NACL_MISSING}")
        self._signing = SigningKey(seed)
        self.seed = seed

    @classmethod
    def generate(cls):
        """A new key from the operating system's randomness."""
        return cls(os.urandom(32))

    @property
    def public_key(self):
        return bytes(self._signing.verify_key)

    @property
    def address(self):
        return to_address(self.public_key)

    def sign(self, domain, message):
        """The 64-byte signature of ``domain || 0x00 || message``."""
        return self._signing.sign(domain.encode() + b"\0" + bytes(message)).signature

    def __repr__(self):
        return f"Key({self.address})"

    def save(self, path):
        """Write a key file (mode 0600); refuses to overwrite one."""
        line = json.dumps({"address": self.address, "secret_seed_hex": self.seed.hex()})
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyFileError(f"key file {path} already exists; refusing to overwrite it") from None
        except OSError as e:
            raise KeyFileError(f"cannot write key file {path}: {e}") from None
        with os.fdopen(fd, "w") as f:
            f.write(line + "\n")

    @classmethod
    def load(cls, path):
        """Read a key file, refusing one that group or others may read."""
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            with open(path, encoding="utf-8") as f:
                data = json.loads(f.read())
        except (OSError, ValueError) as e:
            raise KeyFileError(f"cannot read key file {path}: {e}") from None
        if mode & 0o077:
            raise KeyFileError(
                f"key file {path} has mode {mode:o}: group or others may read the secret; "
                f"run `chmod 600 {path}`")
        try:
            key = cls(bytes.fromhex(data["secret_seed_hex"]))
        except (KeyError, TypeError, ValueError) as e:
            raise KeyFileError(f"key file {path} is not a kopnet key: {e}") from None
        if data.get("address") != key.address:
            raise KeyFileError(f"key file {path} is not a kopnet key: its address does not match its seed")
        return key
