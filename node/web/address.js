// kopnet addresses: "kop" + base58(public key ‖ first 4 bytes of
// blake3 derive_key("kopnet 2026 address checksum v1", public key)).
import { deriveKey } from "./blake3.js";

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const CHECKSUM_CONTEXT = "kopnet 2026 address checksum v1";
export const PREFIX = "kop";

export function base58Encode(bytes) {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  return "1".repeat(zeros) + out;
}

export function base58Decode(text) {
  let n = 0n;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new AddressError("encoding");
    n = n * 58n + BigInt(v);
  }
  const bytes = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 255n));
    n >>= 8n;
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  return new Uint8Array([...new Array(zeros).fill(0), ...bytes]);
}

/** Why an address was refused: "prefix" | "encoding" | "length" | "checksum". */
export class AddressError extends Error {
  constructor(kind) {
    super(`invalid address (${kind})`);
    this.kind = kind;
  }
}

export function toAddress(publicKey) {
  if (publicKey.length !== 32) throw new AddressError("length");
  const checksum = deriveKey(CHECKSUM_CONTEXT, publicKey).subarray(0, 4);
  const raw = new Uint8Array(36);
  raw.set(publicKey);
  raw.set(checksum, 32);
  return PREFIX + base58Encode(raw);
}

/** Parse an address into its 32-byte public key, or throw AddressError. */
export function fromAddress(text) {
  const t = String(text).trim();
  if (!t.startsWith(PREFIX)) throw new AddressError("prefix");
  const body = t.slice(PREFIX.length);
  if (body.length === 0 || body.length > 64) throw new AddressError("length");
  const raw = base58Decode(body);
  if (raw.length !== 36) throw new AddressError("length");
  const key = raw.slice(0, 32);
  const want = deriveKey(CHECKSUM_CONTEXT, key).subarray(0, 4);
  for (let i = 0; i < 4; i++) if (want[i] !== raw[32 + i]) throw new AddressError("checksum");
  return key;
}

export function isAddress(text) {
  try {
    fromAddress(text);
    return true;
  } catch {
    return false;
  }
}
