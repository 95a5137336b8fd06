// The regulator's desk in the explorer: on an observer node, a hidden
// section (#audit-desk) lets the regulator sign in with its observer key
// file (kept in this page's memory only, never stored) and shows the flags
// of GET /v1/audit/report as a review queue: rule, account, home
// cooperative, what was seen, and the transactions behind it.
//
// The request is signed as node/src/api/signed_request.rs says: ed25519
// over "kopnet/request/v1" ‖ 0x00 ‖
// "{chain_id}\n{METHOD}\n{path and query}\n{time_ms}\n{blake3 hex of body}",
// in the kopnet-signer, kopnet-time and kopnet-signature headers.
import { hash } from "./blake3.js";
import { fromHex, toHex } from "./codec.js";
import { el, rupiah, short } from "./format.js";
import { fromSeed, sign } from "./keys.js";

export const REQUEST_SIGNING_DOMAIN = "kopnet/request/v1";
const WIB_OFFSET_MS = 7 * 3600 * 1000;

/** The bytes a request signature covers. */
export function requestSigningBytes(chainId, method, pathAndQuery, timeMs, body = new Uint8Array()) {
  const message = `${chainId}\n${method}\n${pathAndQuery}\n${timeMs}\n${toHex(hash(body))}`;
  const domain = new TextEncoder().encode(REQUEST_SIGNING_DOMAIN);
  const text = new TextEncoder().encode(message);
  const out = new Uint8Array(domain.length + 1 + text.length);
  out.set(domain, 0);
  out.set(text, domain.length + 1);
  return out;
}

/** GET `path` signed with `key` ({privateKey, address}); JSON or a thrown
 *  Error carrying the node's code. */
export async function signedGet(key, chainId, path) {
  const time = Date.now();
  const signature = await sign(key, requestSigningBytes(chainId, "GET", path, time));
  const response = await fetch(path, {
    headers: {
      accept: "application/json",
      "kopnet-signer": key.address,
      "kopnet-time": String(time),
      "kopnet-signature": toHex(signature),
    },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body?.error?.message || `HTTP ${response.status}`);
    error.code = body?.error?.code || "error";
    throw error;
  }
  return body;
}

/** Today in WIB, YYYY-MM-DD. */
const today = () => new Date(Date.now() + WIB_OFFSET_MS).toISOString().slice(0, 10);

/** The key in a kopnet key file's text (one line of JSON with the seed). */
async function keyOfFile(text) {
  const seed = fromHex(String(JSON.parse(text).secret_seed_hex || ""));
  if (seed.length !== 32) throw new Error("not a kopnet key file");
  return fromSeed(seed);
}

function queue(report) {
  const flags = report.flags?.flags || [];
  if (!flags.length) return el("p", { class: "muted" }, "No flags in this period. / Tidak ada tanda.");
  const rows = flags.map((f, i) => el("tr", {},
    el("td", {}, String(i + 1)),
    el("td", {}, el("code", {}, f.rule)),
    el("td", {}, el("a", { href: `#/account/${f.account}` }, short(f.account, 14))),
    el("td", {}, f.home || "—"),
    el("td", {}, f.detail),
    el("td", {}, ...(f.transactions || []).slice(0, 5).flatMap((t) => [
      el("a", { href: `#/tx/${t.hash}` }, `${short(t.hash, 8)} ${rupiah(t.amount)}`), el("br")]))));
  return el("table", { class: "table" },
    el("thead", {}, el("tr", {}, ...["#", "rule", "account", "home", "detail", "transactions"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows));
}

/** Show the desk if this node is an observer. */
export async function mountAuditDesk(section = document.getElementById("audit-desk")) {
  if (!section) return;
  const status = await fetch("/v1/status").then((r) => r.json()).catch(() => null);
  if (status?.role !== "observer") return;
  section.hidden = false;
  const file = el("input", { type: "file", accept: ".key,application/json" });
  const from = el("input", { type: "date", value: today() });
  const to = el("input", { type: "date", value: today() });
  const out = el("div", {});
  const button = el("button", { class: "fixed" }, "Load queue / Muat antrean");
  let key = null;
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    out.replaceChildren(el("p", { class: "muted" }, "…"));
    try {
      if (!key) {
        const chosen = file.files?.[0];
        if (!chosen) throw new Error("choose the regulator's key file / pilih berkas kunci regulator");
        key = await keyOfFile(await chosen.text());
      }
      const path = `/v1/audit/report?from=${from.value}&to=${to.value}`;
      const report = await signedGet(key, status.chain_id, path);
      const cash = report.cash_transactions?.rows?.length || 0;
      out.replaceChildren(
        el("p", {}, `${report.from} – ${report.to} · ${report.transactions} tx · ${cash} cash reports · ${report.flags.flags.length} flags · signed in as ${short(key.address, 14)}`),
        queue(report));
    } catch (error) {
      key = error.code === "not_a_regulator" ? null : key;
      out.replaceChildren(el("p", { class: "error" }, `${error.code || "error"}: ${error.message}`));
    }
  });
  section.replaceChildren(
    el("h2", {}, "Regulator's desk / Meja regulator"),
    el("form", { class: "row" }, file, from, to, button),
    out);
}

if (typeof document !== "undefined") mountAuditDesk();
