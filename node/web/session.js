// Who the explorer reads as (the node's api::access decides what it is
// shown). Anonymous by default: aggregates, block headers and merchants'
// public fields. Signing in:
//  - with this device's wallet (the wallet page's key, same origin): a
//    member's own account;
//  - with a key file (`{"address", "secret_seed_hex"}`, as `kopnet keys new`
//    writes it) of a cooperative, a teller or a regulator's observer: the
//    transactions participants see, the cooperative's members, the
//    regulator's flags. The seed is imported as a non-extractable WebCrypto
//    key and kept in this page's memory only: a reload signs out.
import * as api from "./api.js";
import * as keys from "./keys.js";
import { fromHex } from "./codec.js";

export const session = { key: null, chainId: null, via: null };

/** `GET path` as the signed-in key (anonymous when none). */
export const read = (path) => api.getAs(session.key, session.chainId, path);

async function start(key, via) {
  session.chainId = (await api.get("/v1/status")).chain_id;
  session.key = key;
  session.via = via;
  return key;
}

/** Sign in with this device's wallet key; null when the device has none. */
export async function withWallet() {
  let key = null;
  try { key = await keys.load(); } catch { key = null; }
  return key ? start(key, "wallet") : null;
}

/** Sign in with the text of a key file; throws a readable Error when it is not one. */
export async function withKeyFile(text) {
  let body;
  try { body = JSON.parse(String(text).trim()); } catch { throw new Error("not a kopnet key file (not JSON)"); }
  const seedHex = String(body?.secret_seed_hex ?? "");
  if (!/^[0-9a-fA-F]{64}$/.test(seedHex)) throw new Error("not a kopnet key file (no 32-byte secret_seed_hex)");
  const seed = fromHex(seedHex.toLowerCase());
  const key = await keys.fromSeed(seed);
  seed.fill(0);
  if (body.address && body.address !== key.address) throw new Error("the key file's address does not match its seed");
  return start(key, "key_file");
}
