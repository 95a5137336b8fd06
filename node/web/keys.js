// The member's key lives only on this phone, and the page itself cannot
// read it back.
//
// How a key is made (create()):
//   1. 32 random bytes (the Ed25519 seed) from crypto.getRandomValues;
//   2. the encrypted backup is made from them at once: PBKDF2-SHA-256
//      (600 000 iterations) of the member's passphrase → AES-256-GCM over the
//      seed's PKCS#8 form, the address as associated data;
//   3. the seed is imported into WebCrypto as a NON-EXTRACTABLE private key
//      (extractable = false: crypto.subtle.exportKey refuses it, for this
//      page and for any script that runs in it later), the buffers holding
//      the seed are zeroed and dropped;
//   4. IndexedDB keeps the CryptoKey (the browser stores it as an opaque,
//      still non-extractable object), the public key, the address, and the
//      encrypted backup text (so "download the backup again" gives the same
//      file; it is as safe there as in the downloaded file).
// The backup file is therefore the only way to move the key to another
// phone: restoring decrypts it, imports the seed non-extractable again and
// checks it signs for the backup's address.
//
// The seed exists in page memory only during those few calls, at creation
// and at a restore. Signing uses crypto.subtle.sign with the CryptoKey: the
// same RFC 8032 Ed25519 signature, byte for byte, as before (the browser
// self-test checks it against the Rust vectors).
//
// Fallback: a browser that has Ed25519 WebCrypto but refuses a
// non-extractable import keeps an extractable key (what every wallet had
// before issue 16) and the page says so (`key.extractable`). A browser
// without Ed25519 WebCrypto at all cannot run the wallet (the page says so).
// A wallet created before issue 16 has an extractable key and no stored
// backup: the page asks for a PIN and a backup passphrase once, makes the
// backup, and re-imports the key non-extractable (migrate()).
import { fromAddress, toAddress } from "./address.js";
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
const ED25519 = { name: "Ed25519" };

export const supported = () => !!(globalThis.crypto?.subtle && globalThis.indexedDB);

function b64url(text) {
  return fromBase64(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
}

function pkcs8Of(seed) {
  if (seed.length !== 32) throw new Error("seed must be 32 bytes");
  const pkcs8 = new Uint8Array(48);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(seed, 16);
  return pkcs8;
}

/** The public key of a seed: a short-lived extractable copy is asked for
 * its public half (the JWK "x"); the copy is dropped at once. */
async function publicOf(pkcs8) {
  const probe = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, true, ["sign"]);
  return b64url((await crypto.subtle.exportKey("jwk", probe)).x);
}

/** The private key as a non-extractable CryptoKey where the browser allows it. */
async function importPrivate(pkcs8) {
  try {
    return { privateKey: await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, false, ["sign"]), extractable: false };
  } catch {
    return { privateKey: await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, true, ["sign"]), extractable: true };
  }
}

/** A wallet key: {privateKey: CryptoKey, publicKey: Uint8Array(32), address, extractable}. */
async function keyOf(pkcs8, publicKey) {
  const { privateKey, extractable } = await importPrivate(pkcs8);
  return { privateKey, publicKey, address: toAddress(publicKey), extractable };
}

/** Import a raw 32-byte seed, non-extractable (tests). */
export async function fromSeed(seed) {
  const pkcs8 = pkcs8Of(seed);
  try {
    return await keyOf(pkcs8, await publicOf(pkcs8));
  } finally {
    pkcs8.fill(0);
  }
}

export async function sign(key, bytes) {
  return new Uint8Array(await crypto.subtle.sign(ED25519, key.privateKey, bytes));
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

/** The backup file's text: `pkcs8` encrypted under `passphrase`. */
async function encryptBackup(pkcs8, address, passphrase, iterations) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const aes = await wrappingKey(passphrase, salt, iterations, "encrypt");
  const data = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(address) },
    aes,
    pkcs8,
  );
  return JSON.stringify({
    format: BACKUP_FORMAT,
    version: 1,
    address,
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations, salt: toBase64(salt) },
    cipher: { name: "AES-GCM", iv: toBase64(iv) },
    data: toBase64(new Uint8Array(data)),
  }, null, 2);
}

/**
 * A new key and its encrypted backup, made together: returns
 * {key, backup} with `key.backup` = the backup text. `seed` and
 * `iterations` are for tests only.
 */
export async function create(passphrase, { seed, iterations = PBKDF2_ITERATIONS } = {}) {
  const random = seed ? Uint8Array.from(seed) : crypto.getRandomValues(new Uint8Array(32));
  const pkcs8 = pkcs8Of(random);
  random.fill(0);
  try {
    const publicKey = await publicOf(pkcs8);
    const address = toAddress(publicKey);
    const backup = await encryptBackup(pkcs8, address, passphrase, iterations);
    const key = await keyOf(pkcs8, publicKey);
    key.backup = backup;
    return key;
  } finally {
    pkcs8.fill(0);
  }
}

/** Decrypt a backup and import its key non-extractable; throws
 * Error("bad_backup" | "wrong_passphrase"). The restored key keeps the
 * backup text (to download it again). */
export async function importBackup(text, passphrase) {
  let b;
  try { b = JSON.parse(text); } catch { throw new Error("bad_backup"); }
  if (b?.format !== BACKUP_FORMAT || b.version !== 1 || b.kdf?.name !== "PBKDF2" || b.cipher?.name !== "AES-GCM") {
    throw new Error("bad_backup");
  }
  const iterations = Number(b.kdf.iterations);
  if (!Number.isSafeInteger(iterations) || iterations < 1000 || iterations > 10000000) throw new Error("bad_backup");
  let publicKey;
  try { publicKey = fromAddress(String(b.address)); } catch { throw new Error("bad_backup"); }
  const aes = await wrappingKey(passphrase, fromBase64(b.kdf.salt), iterations, "decrypt");
  let pkcs8;
  try {
    pkcs8 = new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(b.cipher.iv), additionalData: new TextEncoder().encode(b.address) },
      aes,
      fromBase64(b.data),
    ));
  } catch {
    throw new Error("wrong_passphrase");
  }
  let key;
  try {
    key = await keyOf(pkcs8, publicKey);
  } catch {
    throw new Error("bad_backup");
  } finally {
    pkcs8.fill(0);
  }
  // The seed must sign for the backup's address (the address is
  // authenticated by AES-GCM, the key inside it is checked here).
  const probe = crypto.getRandomValues(new Uint8Array(32));
  const pub = await crypto.subtle.importKey("raw", publicKey, ED25519, true, ["verify"]);
  if (!(await crypto.subtle.verify(ED25519, pub, await sign(key, probe), probe))) throw new Error("bad_backup");
  key.backup = text;
  return key;
}

/** A key made before issue 16 (extractable, no backup stored): make its
 * backup under `passphrase` and re-import it non-extractable. */
export async function migrate(key, passphrase, iterations = PBKDF2_ITERATIONS) {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key.privateKey));
  try {
    const backup = await encryptBackup(pkcs8, key.address, passphrase, iterations);
    const next = await keyOf(pkcs8, key.publicKey);
    next.backup = backup;
    return next;
  } finally {
    pkcs8.fill(0);
  }
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

/** The stored key, or null on first run. A key stored before issue 16 has
 * no public key or backup beside it: its public key is read from it (it is
 * extractable) and `backup` is null until migrate(). */
export async function load() {
  const record = await tx("readonly", (s) => s.get(SLOT));
  if (!record?.privateKey) return null;
  const privateKey = record.privateKey;
  let publicKey = record.publicKey ? Uint8Array.from(record.publicKey) : null;
  if (!publicKey) publicKey = b64url((await crypto.subtle.exportKey("jwk", privateKey)).x);
  return {
    privateKey,
    publicKey,
    address: toAddress(publicKey),
    extractable: privateKey.extractable,
    backup: record.backup ?? null,
  };
}

export async function save(key) {
  await tx("readwrite", (s) => s.put({
    privateKey: key.privateKey,
    publicKey: key.publicKey,
    address: key.address,
    backup: key.backup ?? null,
    saved: Date.now(),
  }, SLOT));
}

/** Delete the key and everything stored with it (PIN, settings). */
export async function forget() {
  await tx("readwrite", (s) => s.clear());
}

/** Other small records of this wallet (the PIN verifier, settings). */
export const getRecord = (name) => tx("readonly", (s) => s.get(name));
export const putRecord = (name, value) => tx("readwrite", (s) => s.put(value, name));
export const deleteRecord = (name) => tx("readwrite", (s) => s.delete(name));
