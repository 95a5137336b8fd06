// The exact bytes kopnet's codec (bincode 2, fixed-width little-endian
// integers) gives a transaction, for the actions the wallet signs.
//   u64: 8 bytes LE; enum variant: u32 LE; String / Vec: u64 LE length + bytes;
//   PublicKey: 32 raw bytes; [u8; N]: N raw bytes; Option: one byte 0 (None)
//   or 1 then the value.
// The signature is ed25519 over "kopnet/tx/v1" ‖ 0x00 ‖ codec(TxBody), and a
// Transaction is codec(TxBody) ‖ 64 signature bytes.
import { fromAddress } from "./address.js";
import { deriveKey } from "./blake3.js";

export const SIGNING_DOMAIN = "kopnet/tx/v1";
const TX_HASH_CONTEXT = "kopnet 2026 transaction v1";
export const MAX_MEMO_BYTES = 64;

/** Variant indexes of `Action`, in declaration order (ledger/src/tx.rs). */
export const ACTIONS = {
  RegisterMember: 0, Mint: 1, Burn: 2, Payment: 3, CashIn: 4, CashOut: 5,
  CloseSettlementWindow: 6, AcknowledgeSettlement: 7, Propose: 8, Approve: 9,
  // 10-21: cooperative and governance actions the wallet does not sign.
  RequestPayment: 22, PayRequest: 23, DeclineRequest: 24, CancelRequest: 25,
};

const utf8 = new TextEncoder();

class Writer {
  constructor() { this.parts = []; }
  bytes(b) { this.parts.push(Uint8Array.from(b)); return this; }
  u32(n) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return this.bytes(b);
  }
  u64(n) {
    const v = BigInt(n);
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError("u64 out of range");
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    return this.bytes(b);
  }
  string(s) { const b = utf8.encode(s); return this.u64(b.length).bytes(b); }
  u8(n) { return this.bytes([n]); }
  key(address) { return this.bytes(fromAddress(address)); }
  fixed(arr, n) {
    if (arr.length !== n) throw new RangeError(`expected ${n} bytes`);
    return this.bytes(arr);
  }
  finish() {
    const len = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(len);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

function writeAction(w, action) {
  const [name] = Object.keys(action);
  const a = action[name];
  const index = ACTIONS[name];
  if (index === undefined) throw new Error(`unknown action ${name}`);
  w.u32(index);
  switch (name) {
    case "Payment":
      if (utf8.encode(a.memo ?? "").length > MAX_MEMO_BYTES) throw new RangeError("memo longer than 64 bytes");
      w.key(a.to).u64(a.amount).string(a.memo ?? "").fixed(a.idempotency_id, 16);
      break;
    case "CashOut":
      w.string(a.agent).u64(a.amount);
      break;
    case "Mint":
    case "Burn":
      w.key(a.member).u64(a.amount);
      break;
    case "CashIn":
      w.string(a.agent).key(a.member).u64(a.amount);
      break;
    case "CloseSettlementWindow":
    case "AcknowledgeSettlement":
      w.u64(a.window);
      break;
    case "Approve":
      w.u64(a.proposal);
      break;
    case "RequestPayment":
      if (utf8.encode(a.reference ?? "").length > MAX_MEMO_BYTES) throw new RangeError("reference longer than 64 bytes");
      w.fixed(a.id, 16);
      if (a.payer == null) w.u8(0);
      else w.u8(1).key(a.payer);
      w.u64(a.amount).string(a.reference ?? "").u64(a.expires_at_ms);
      break;
    case "PayRequest":
      w.key(a.requester).fixed(a.id, 16).u64(a.amount);
      break;
    case "DeclineRequest":
      w.key(a.requester).fixed(a.id, 16);
      break;
    case "CancelRequest":
      w.fixed(a.id, 16);
      break;
    default:
      throw new Error(`the wallet does not encode ${name}`);
  }
}

/** codec(TxBody). `action` uses the API's JSON form, e.g. {"Payment": {...}}. */
export function encodeBody({ chain_id, signer, nonce, action }) {
  const w = new Writer().string(chain_id).key(signer).u64(nonce);
  writeAction(w, action);
  return w.finish();
}

/** The bytes the signature covers. */
export function signingBytes(body) {
  const domain = utf8.encode(SIGNING_DOMAIN);
  const out = new Uint8Array(domain.length + 1 + body.length);
  out.set(domain);
  out.set(body, domain.length + 1);
  return out;
}

/** codec(Transaction) = codec(TxBody) ‖ signature. */
export function encodeTx(body, signature) {
  if (signature.length !== 64) throw new RangeError("signature must be 64 bytes");
  const out = new Uint8Array(body.length + 64);
  out.set(body);
  out.set(signature, body.length);
  return out;
}

/** The transaction id, as the node computes it (hex). */
export function txHash(txBytes) {
  return toHex(deriveKey(TX_HASH_CONTEXT, txBytes));
}

export const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
export function fromHex(h) {
  if (h.length % 2) throw new Error("odd hex");
  return Uint8Array.from({ length: h.length / 2 }, (_, i) => parseInt(h.substr(i * 2, 2), 16));
}
export function toBase64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
export function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
