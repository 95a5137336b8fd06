// The node's own /v1 API (same origin).
import { hash as blake3 } from "./blake3.js";

export class ApiError extends Error {
  constructor(status, code, message, baseHeight = null) {
    super(message || code);
    this.status = status;
    this.code = code;
    // `410 pruned`: the lowest height the node still holds.
    this.baseHeight = Number.isSafeInteger(baseHeight) ? baseHeight : null;
  }
}

async function handle(r) {
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const e = body?.error ?? {};
    throw new ApiError(r.status, e.code ?? `http_${r.status}`, e.message ?? r.statusText, e.base_height);
  }
  return body;
}

export const get = (path) => fetch(path, { headers: { accept: "application/json" } }).then(handle);
export const post = (path, json) =>
  fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) }).then(handle);

/** Subscribe to committed blocks; returns a function that unsubscribes. */
export function onBlocks(callback) {
  if (typeof EventSource === "undefined") return () => {};
  const source = new EventSource("/v1/events");
  source.addEventListener("block", (e) => {
    try { callback(JSON.parse(e.data)); } catch { /* ignore a bad event */ }
  });
  return () => source.close();
}

// ---------- signed requests ----------
// Reads of one member's data are served by right (the node's
// `api::access`): the wallet signs them with its key, in three headers over
// `kopnet/request/v1 || 0 || chain_id \n METHOD \n path \n time_ms \n blake3-hex(body)`
// (`api::signed_request`). Bodies signed here are at most one blake3 chunk
// (1,024 bytes): the lookups and reads the pages make.


const REQUEST_DOMAIN = "kopnet/request/v1";
const utf8 = new TextEncoder();
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** The three signature headers of `method path body` by `key`
 *  ({address, privateKey}) on network `chainId`. */
export async function signatureHeaders(key, chainId, method, path, body = new Uint8Array()) {
  if (body.length > 1024) throw new ApiError(0, "body_too_long", "a signed body is at most 1,024 bytes");
  const time = String(Date.now());
  const message = utf8.encode(`${chainId}\n${method}\n${path}\n${time}\n${hex(blake3(body))}`);
  const domain = utf8.encode(REQUEST_DOMAIN);
  const bytes = new Uint8Array(domain.length + 1 + message.length);
  bytes.set(domain);
  bytes.set(message, domain.length + 1);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, bytes));
  return { "kopnet-signer": key.address, "kopnet-time": time, "kopnet-signature": hex(signature) };
}

/** `GET path` signed by `key` (anonymous when `key` is null). */
export async function getAs(key, chainId, path) {
  if (!key) return get(path);
  const headers = await signatureHeaders(key, chainId, "GET", path);
  return fetch(path, { headers: { accept: "application/json", ...headers } }).then(handle);
}

/** `POST path` with a JSON body, signed by `key`. */
export async function postAs(key, chainId, path, json) {
  const body = utf8.encode(JSON.stringify(json));
  const headers = await signatureHeaders(key, chainId, "POST", path, body);
  return fetch(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }).then(handle);
}
