"""A kopnet node's HTTP API, over the standard library's ``urllib``.

The API is described at ``GET /v1/openapi.json``. Every error answer is
``{"error": {"code", "message"}}`` with a 4xx/5xx status; it is raised as
:class:`ApiError` with the code (and ``Retry-After`` when the node sent
one). Reads of one member's data are served by right: pass the key to
sign the request (headers ``kopnet-signer``, ``kopnet-time``,
``kopnet-signature``, see :func:`sign_request`).
"""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from . import blake3, codec
from .address import from_address

REQUEST_SIGNING_DOMAIN = "kopnet/request/v1"
# Longest answer this client reads (the node's largest pages are far
# smaller); a longer one is refused rather than held in memory.
ANSWER_BYTES_MAX = 16 * 1024 * 1024
# Longest line of an event stream.
EVENT_LINE_BYTES_MAX = 4 * 1024 * 1024


class ApiError(Exception):
    """An error answer: HTTP ``status``, stable ``code``, ``message``."""

    def __init__(self, status, code, message, retry_after_s=None, body=None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.retry_after_s = retry_after_s
        self.body = body


class TransportError(Exception):
    """The node could not be reached, or answered something that is not JSON."""


def now_ms():
    return int(time.time() * 1000)


def request_message(chain_id, method, path_and_query, time_ms, body=b""):
    """What a request signature covers (``node/src/api/signed_request.rs``)."""
    body_hash = blake3.hash(body).hex()
    return f"{chain_id}\n{method}\n{path_and_query}\n{time_ms}\n{body_hash}".encode()


def sign_request(key, chain_id, method, path_and_query, body=b"", time_ms=None):
    """The three headers that sign a request by ``key``."""
    time_ms = now_ms() if time_ms is None else time_ms
    message = request_message(chain_id, method, path_and_query, time_ms, body)
    return {
        "kopnet-signer": key.address,
        "kopnet-time": str(time_ms),
        "kopnet-signature": key.sign(REQUEST_SIGNING_DOMAIN, message).hex(),
    }


def _read_bounded(response, limit):
    data = response.read(limit + 1)
    if len(data) > limit:
        raise TransportError(f"the answer is longer than {limit} bytes")
    return data


class Client:
    """One node's API. ``base_url`` like ``http://127.0.0.1:7001``."""

    def __init__(self, base_url, timeout_s=10.0, chain_id=None):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._chain_id = chain_id

    # -- plumbing -----------------------------------------------------

    def request(self, method, path, body=None, key=None):
        """``method path`` with an optional JSON ``body``, signed by ``key``
        when given; the decoded JSON answer, or :class:`ApiError`."""
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        if key is not None:
            headers.update(sign_request(key, self.chain_id(), method, path, data))
        request = urllib.request.Request(
            self.base_url + path, data=data if body is not None else None,
            headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = _read_bounded(response, ANSWER_BYTES_MAX)
        except urllib.error.HTTPError as e:
            raise self._error(e) from None
        except (urllib.error.URLError, OSError) as e:
            raise TransportError(f"{method} {path}: {e}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise TransportError(f"{method} {path}: the answer is not JSON") from None

    @staticmethod
    def _error(e):
        retry = e.headers.get("retry-after") if e.headers else None
        try:
            body = json.loads(_read_bounded(e, ANSWER_BYTES_MAX))
            error = body["error"]
            code, message = error["code"], error["message"]
        except (ValueError, KeyError, TypeError, TransportError):
            body, code, message = None, "http_error", f"HTTP {e.code}"
        retry_s = int(retry) if retry and retry.isdigit() else None
        return ApiError(e.code, code, message, retry_s, body)

    def get(self, path, key=None):
        return self.request("GET", path, key=key)

    def chain_id(self):
        """The network's id (asked once, from ``/v1/status``)."""
        if self._chain_id is None:
            self._chain_id = self.get("/v1/status")["chain_id"]
        return self._chain_id

    # -- reads --------------------------------------------------------

    def status(self):
        return self.get("/v1/status")

    def openapi(self):
        """The node's OpenAPI description."""
        return self.get("/v1/openapi.json")

    def account(self, address, key=None):
        """``GET /v1/accounts/{address}``: a member's account needs ``key``
        (the holder's, its cooperative's or an observer's)."""
        from_address(address)
        return self.get(f"/v1/accounts/{address}", key=key)

    def balance(self, key, address=None):
        """The balance (integer rupiah) of ``address`` (default: ``key``'s own)."""
        return self.account(address or key.address, key=key)["balance"]

    def tx(self, tx_hash, key=None):
        return self.get(f"/v1/tx/{tx_hash}", key=key)

    # -- writes -------------------------------------------------------

    def submit(self, tx_bytes):
        """``POST /v1/tx``: ``{"hash", "status"}`` (pending or committed)."""
        return self.request("POST", "/v1/tx", body={"tx": bytes(tx_bytes).hex()})

    def sign_tx(self, key, action, nonce):
        """The encoded, signed transaction of ``action`` by ``key``."""
        body = codec.encode_body(self.chain_id(), key.address, nonce, action)
        signature = key.sign(codec.SIGNING_DOMAIN, body)
        return codec.encode_tx(body, signature)

    def pay(self, key, to, amount, memo="", nonce=None, idempotency_id=None):
        """Sign and submit a payment of ``amount`` rupiah from ``key``'s
        account to ``to``. The nonce defaults to the account's committed
        ``next_nonce`` (pass it when other transactions of this key are
        still pending). Returns the node's answer with the hash this client
        computed checked against it."""
        if nonce is None:
            nonce = self.account(key.address, key=key)["next_nonce"]
        action = {"Payment": {
            "to": to, "amount": amount, "memo": memo,
            "idempotency_id": list(idempotency_id or os.urandom(16)),
        }}
        tx = self.sign_tx(key, action, nonce)
        answer = self.submit(tx)
        expected = codec.tx_hash(tx)
        if answer.get("hash") != expected:
            raise TransportError(f"the node names the transaction {answer.get('hash')}, not {expected}")
        return answer

    def wait_committed(self, tx_hash, key=None, timeout_s=60.0, poll_s=0.2):
        """Poll ``/v1/tx/{hash}`` until committed (or refused); the answer."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                answer = self.tx(tx_hash, key=key)
                if answer.get("status") in ("committed", "rejected"):
                    return answer
            except ApiError as e:
                if e.code != "unknown_tx":
                    raise
            if time.monotonic() >= deadline:
                raise TimeoutError(f"transaction {tx_hash} not committed within {timeout_s} s")
            time.sleep(poll_s)

    # -- events -------------------------------------------------------

    def events(self, key=None, timeout_s=None):
        """Follow ``GET /v1/events``: connects, then yields ``(event, data)`` pairs, the
        data decoded from JSON when it is (``block`` events), else text (a
        last ``dropped`` when the stream fell behind). Participants'
        signatures get each block's transactions; anyone else its height,
        hash, time, state root and ``tx_count``. ``timeout_s`` bounds the
        wait for each line (the node sends keep-alives)."""
        path = "/v1/events"
        headers = {"accept": "text/event-stream"}
        if key is not None:
            headers.update(sign_request(key, self.chain_id(), "GET", path))
        request = urllib.request.Request(self.base_url + path, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s)
        except urllib.error.HTTPError as e:
            raise self._error(e) from None
        except (urllib.error.URLError, OSError) as e:
            raise TransportError(f"GET {path}: {e}") from None
        return _event_stream(response)


def _event_stream(response):
    """The ``(event, data)`` pairs of an open event stream."""
    with response:
        name, data = None, []
        while True:
            try:
                line = response.readline(EVENT_LINE_BYTES_MAX + 1)
            except OSError as e:
                raise TransportError(f"the event stream broke: {e}") from None
            if not line:
                return
            if len(line) > EVENT_LINE_BYTES_MAX:
                raise TransportError("an event line is too long")
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data:
                    text = "\n".join(data)
                    try:
                        value = json.loads(text)
                    except ValueError:
                        value = text
                    yield name or "message", value
                name, data = None, []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
