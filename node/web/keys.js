// The member's key lives only on this phone: WebCrypto Ed25519 for key
// generation and signing, IndexedDB for storage, and a passphrase-encrypted
// backup file (PBKDF2-SHA-256 → AES-256-GCM) for moving or restoring it.
import { toAddress } from "./address.js";
import { fromBase64, toBase64 } from "./codec.js";

const DB = "kopnet-wallet";
const STORE = "keys";
const SLOT = "main";
export const BACKUP_FORMAT = "kopnet-wallet-backup";
// OWASP (2023) guidance for PBKDF2-HMAC-SHA-256.
export const PBKDF2_ITERATIONS = 600000;
// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

export const supported = () => !!(globalThis.crypto?.subtle && globalThis.indexedDB);

function b64url(text) {
  return fromBase64(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
}

/** A wallet key: {privateKey: CryptoKey, publicKey: Uint8Array(32), address}. */
async function fromPrivate(privateKey) {
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = b64url(jwk.x);
  return { privateKey, publicKey, address: toAddress(publicKey) };
}

export async function generate() {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  return fromPrivate(pair.privateKey);
}

/** Import a raw 32-byte seed (tests and restores). */
export async function fromSeed(seed) {
  if (seed.length !== 32) throw new Error("seed must be 32 bytes");
  const pkcs8 = new Uint8Array(48);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(seed, 16);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  return fromPrivate(key);
}

export async function sign(key, bytes) {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, bytes));
}

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, f) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = f(t.objectStore(STORE));
      t.oncomplete = () => resolve(req?.result);
      t.onerror = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

/** The stored key, or null on first run. */
export async function load() {
  const record = await tx("readonly", (s) => s.get(SLOT));
  if (!record?.privateKey) return null;
  return fromPrivate(record.privateKey);
}

export async function save(key) {
  await tx("readwrite", (s) => s.put({ privateKey: key.privateKey, address: key.address, saved: Date.now() }, SLOT));
}

export async function forget() {
  await tx("readwrite", (s) => s.delete(SLOT));
}

async function wrappingKey(passphrase, salt, iterations, usage) {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

/** An encrypted backup (JSON text) of `key` under `passphrase`. */
export async function exportBackup(key, passphrase, iterations = PBKDF2_ITERATIONS) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const aes = await wrappingKey(passphrase, salt, iterations, "encrypt");
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key.privateKey));
  const data = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(key.address) },
    aes,
    pkcs8,
  );
  pkcs8.fill(0);
  return JSON.stringify({
    format: BACKUP_FORMAT,
    version: 1,
    address: key.address,
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations, salt: toBase64(salt) },
    cipher: { name: "AES-GCM", iv: toBase64(iv) },
    data: toBase64(new Uint8Array(data)),
  }, null, 2);
}

/** Decrypt a backup; throws Error("bad_backup" | "wrong_passphrase"). */
export async function importBackup(text, passphrase) {
  let b;
  try { b = JSON.parse(text); } catch { throw new Error("bad_backup"); }
  if (b?.format !== BACKUP_FORMAT || b.version !== 1 || b.kdf?.name !== "PBKDF2" || b.cipher?.name !== "AES-GCM") {
    throw new Error("bad_backup");
  }
  const iterations = Number(b.kdf.iterations);
  if (!Number.isSafeInteger(iterations) || iterations < 1000 || iterations > 10000000) throw new Error("bad_backup");
  const aes = await wrappingKey(passphrase, fromBase64(b.kdf.salt), iterations, "decrypt");
  let pkcs8;
  try {
    pkcs8 = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(b.cipher.iv), additionalData: new TextEncoder().encode(b.address) },
      aes,
      fromBase64(b.data),
    );
  } catch {
    throw new Error("wrong_passphrase");
  }
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const key = await fromPrivate(privateKey);
  if (key.address !== b.address) throw new Error("bad_backup");
  return key;
}
