// Who a payment goes to, as the confirm screen shows it. The name comes from
// the ledger (a merchant's public name, set by its home cooperative with
// SetMerchantName) or, when the ledger has none, from the QR code marked as
// unverified together with the payee's home cooperative; never from the QR
// code alone. Member names are not on the ledger (personal data), so a
// member is shown by address (its home cooperative too is private: only
// the member, its cooperative and the regulator read a member's account).
import * as api from "./api.js";

/** Names compared the way a person reads them: case and runs of spaces
 * do not matter ("WARUNG  BU SRI" is "Warung Bu Sri"). */
export const sameName = (a, b) => norm(a) === norm(b);
const norm = (s) => String(s ?? "").trim().replace(/\s+/g, " ").toUpperCase();

/**
 * {to, qrName} → {
 *   name: what to show (ledger name, else the QR's, else null),
 *   verified: the name is the ledger's,
 *   mismatch: {qr, ledger} when the QR's name differs from the ledger's,
 *   home: the payee's home cooperative id, kind: "member" | "merchant",
 * }. Throws the API's error (unknown_account, offline).
 */
export async function describe(to, qrName) {
  let account;
  try {
    account = await api.get(`/v1/accounts/${to}`);
  } catch (e) {
    // A member's account is private (the node's api::access): it exists
    // (else unknown_account), and a payer sees only the address and the QR's
    // name, unverified.
    if (e.code !== "not_permitted") throw e;
    account = { kind: "member", home: null };
  }
  const ledgerName = typeof account.merchant_name === "string" && account.merchant_name ? account.merchant_name : null;
  const qr = qrName ? String(qrName) : null;
  return {
    name: ledgerName ?? qr,
    verified: !!ledgerName,
    mismatch: ledgerName && qr && !sameName(ledgerName, qr) ? { qr, ledger: ledgerName } : null,
    home: account.home,
    kind: account.kind,
  };
}
