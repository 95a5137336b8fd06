// The payment PIN: a 6-digit PIN, set when the wallet is made, asked for
// before every payment or cash-out above a threshold (default Rp100.000,
// changeable in the wallet, only with the PIN).
//
// What it protects against: someone holding the unlocked phone with the
// wallet open cannot move more than the threshold at a time without the PIN.
// After 5 wrong PINs in a row every further try waits 5 minutes (the count
// is kept with the key: clearing the site's data to reset it deletes the
// key too). It is not a cryptographic lock on the key: the key itself is a
// non-extractable WebCrypto key (see keys.js), and the PIN's verifier
// (PBKDF2-SHA-256, 600 000 iterations, random salt) sits beside it in the
// browser's storage; a 6-digit PIN does not resist an offline search by
// someone who copied that storage, but such a person could sign with the
// stored key anyway. The backup file is protected by the passphrase, not by
// the PIN.
import { fromBase64, toBase64 } from "./codec.js";
import { getRecord, putRecord } from "./keys.js";

export const PIN_DIGITS = 6;
/** Payments and cash-outs strictly above this many rupiah ask for the PIN. */
export const THRESHOLD_DEFAULT = 100000;
/** Wrong PINs in a row before each further try waits LOCK_MS. */
export const ATTEMPTS_MAX = 5;
export const LOCK_MS = 5 * 60 * 1000;
const ITERATIONS = 600000;
const PIN = "pin";
const SETTINGS = "settings";

export const validPin = (pin) => new RegExp(`^\\d{${PIN_DIGITS}}$`).test(String(pin ?? ""));

async function derive(pin, salt, iterations) {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, 256));
}

export async function isPinSet() {
  return !!(await getRecord(PIN))?.hash;
}

/** Set (or replace) the PIN; throws Error("bad_pin") unless 6 digits. */
export async function setPin(pin, iterations = ITERATIONS) {
  if (!validPin(pin)) throw new Error("bad_pin");
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(pin, salt, iterations);
  await putRecord(PIN, { salt: toBase64(salt), iterations, hash: toBase64(hash), failures: 0, locked_until_ms: 0 });
}

/** "ok", "wrong", "locked" (try again after `until_ms`) or "no_pin". */
export async function checkPin(pin) {
  const r = await getRecord(PIN);
  if (!r?.hash) return { result: "no_pin" };
  const now = Date.now();
  if (r.locked_until_ms > now) return { result: "locked", until_ms: r.locked_until_ms };
  const got = validPin(pin) ? await derive(pin, fromBase64(r.salt), r.iterations) : new Uint8Array(32);
  const want = fromBase64(r.hash);
  let diff = got.length ^ want.length;
  for (let i = 0; i < want.length; i++) diff |= got[i] ^ want[i];
  if (diff === 0) {
    await putRecord(PIN, { ...r, failures: 0, locked_until_ms: 0 });
    return { result: "ok" };
  }
  const failures = (r.failures ?? 0) + 1;
  const locked = failures >= ATTEMPTS_MAX ? now + LOCK_MS : 0;
  await putRecord(PIN, { ...r, failures, locked_until_ms: locked });
  return locked ? { result: "locked", until_ms: locked } : { result: "wrong", left: ATTEMPTS_MAX - failures };
}

/** The PIN threshold in rupiah. */
export async function threshold() {
  const v = (await getRecord(SETTINGS))?.pin_threshold;
  return Number.isSafeInteger(v) && v >= 0 ? v : THRESHOLD_DEFAULT;
}

/** Change the threshold (0: the PIN for every payment); needs the PIN. */
export async function setThreshold(amount, pin) {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new Error("bad_amount");
  const check = await checkPin(pin);
  if (check.result !== "ok") return check;
  const settings = (await getRecord(SETTINGS)) ?? {};
  await putRecord(SETTINGS, { ...settings, pin_threshold: amount });
  return check;
}

/** Whether moving `amount` rupiah needs the PIN. */
export const needsPin = async (amount) => amount > (await threshold());
