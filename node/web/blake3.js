// BLAKE3 for short inputs (one chunk, at most 1024 bytes): enough for
// kopnet's address checksum and transaction hashes, both in derive_key mode.
// Reference: the BLAKE3 specification, section 2 and the reference code.

const IV = new Uint32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const CHUNK_START = 1, CHUNK_END = 2, ROOT = 8;
const DERIVE_KEY_CONTEXT = 32, DERIVE_KEY_MATERIAL = 64;
export const CHUNK_LEN = 1024;

const rotr = (x, n) => ((x >>> n) | (x << (32 - n))) >>> 0;

function g(s, a, b, c, d, x, y) {
  s[a] = (s[a] + s[b] + x) >>> 0; s[d] = rotr(s[d] ^ s[a], 16);
  s[c] = (s[c] + s[d]) >>> 0; s[b] = rotr(s[b] ^ s[c], 12);
  s[a] = (s[a] + s[b] + y) >>> 0; s[d] = rotr(s[d] ^ s[a], 8);
  s[c] = (s[c] + s[d]) >>> 0; s[b] = rotr(s[b] ^ s[c], 7);
}

function compress(cv, m, counter, blockLen, flags) {
  const s = new Uint32Array([
    cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
    IV[0], IV[1], IV[2], IV[3], counter >>> 0, 0, blockLen, flags,
  ]);
  let w = Uint32Array.from(m);
  for (let r = 0; r < 7; r++) {
    g(s, 0, 4, 8, 12, w[0], w[1]); g(s, 1, 5, 9, 13, w[2], w[3]);
    g(s, 2, 6, 10, 14, w[4], w[5]); g(s, 3, 7, 11, 15, w[6], w[7]);
    g(s, 0, 5, 10, 15, w[8], w[9]); g(s, 1, 6, 11, 12, w[10], w[11]);
    g(s, 2, 7, 8, 13, w[12], w[13]); g(s, 3, 4, 9, 14, w[14], w[15]);
    if (r < 6) w = Uint32Array.from(PERM, (p) => w[p]);
  }
  const out = new Uint32Array(8);
  for (let i = 0; i < 8; i++) out[i] = (s[i] ^ s[i + 8]) >>> 0;
  return out;
}

function hashOneChunk(key, input, flags) {
  if (input.length > CHUNK_LEN) throw new Error("blake3.js: input longer than one chunk");
  let cv = key;
  const blocks = Math.max(1, Math.ceil(input.length / 64));
  for (let b = 0; b < blocks; b++) {
    const block = new Uint8Array(64);
    const part = input.subarray(b * 64, b * 64 + 64);
    block.set(part);
    const m = new Uint32Array(16);
    const dv = new DataView(block.buffer);
    for (let i = 0; i < 16; i++) m[i] = dv.getUint32(i * 4, true);
    let f = flags;
    if (b === 0) f |= CHUNK_START;
    if (b === blocks - 1) f |= CHUNK_END | ROOT;
    cv = compress(cv, m, 0, part.length, f);
  }
  return cv;
}

function wordsToBytes(words) {
  const out = new Uint8Array(32);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return out;
}

function bytesToWords(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 32);
  return Uint32Array.from({ length: 8 }, (_, i) => dv.getUint32(i * 4, true));
}

/** blake3(input) in plain hash mode (32 bytes). */
export function hash(input) {
  return wordsToBytes(hashOneChunk(IV, input, 0));
}

/** blake3 derive_key(context, material), as kopnet's `Hash::digest`. */
export function deriveKey(context, material) {
  const ctx = new TextEncoder().encode(context);
  const contextKey = hashOneChunk(IV, ctx, DERIVE_KEY_CONTEXT);
  return wordsToBytes(hashOneChunk(bytesToWords(wordsToBytes(contextKey)), material, DERIVE_KEY_MATERIAL));
}
