"""A small client for a kopnet node's HTTP API.

Standard library only for HTTP (``urllib``); signing with PyNaCl. It makes
keys and ``kop…`` addresses, builds and signs transactions in the ledger's
exact bytes (checked against the repository's golden vectors), submits
them, follows the event stream and reads balances. See README.md.
"""

from .address import AddressError, from_address, to_address
from .client import ApiError, Client, TransportError, sign_request
from .codec import encode_body, encode_tx, signing_bytes, tx_hash
from .keys import Key, KeyFileError

__all__ = [
    "AddressError", "ApiError", "Client", "Key", "KeyFileError", "TransportError",
    "encode_body", "encode_tx", "from_address", "sign_request", "signing_bytes",
    "to_address", "tx_hash",
]
