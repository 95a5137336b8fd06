// The regulator's desk in the explorer: on an observer node, a hidden
// section (#audit-desk) shows the flags of GET /v1/audit/report as a review
// queue: rule, account, home cooperative, what was seen, and the
// transactions behind it. The report is read as the explorer's signed-in
// key (session.js: a regulator signs in with its observer key file, kept in
// this page's memory only); a key file chosen here signs the whole explorer
// in. The node refuses anyone but a registered observer (403
// not_a_regulator), which the desk shows as it is.
import { get } from "./api.js";
import { el, rupiah, short } from "./format.js";
import { read, session, withKeyFile } from "./session.js";

const WIB_OFFSET_MS = 7 * 3600 * 1000;

/** Today in WIB, YYYY-MM-DD. */
const today = () => new Date(Date.now() + WIB_OFFSET_MS).toISOString().slice(0, 10);

/** The report's path for a period (dates as the date inputs give them). */
export const reportPath = (from, to) =>
  `/v1/audit/report?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

/** The flags as a table, in the report's order (the queue). */
export function queue(report) {
  const flags = report.flags?.flags || [];
  if (!flags.length) return el("p", { class: "muted" }, "No flags in this period. / Tidak ada tanda.");
  const rows = flags.map((f, i) => el("tr", { "data-rule": f.rule },
    el("td", {}, String(i + 1)),
    el("td", {}, el("code", {}, f.rule)),
    el("td", {}, el("a", { href: `#/account/${f.account}` }, short(f.account, 14))),
    el("td", {}, f.home || "—"),
    el("td", {}, f.detail),
    el("td", {}, ...(f.transactions || []).slice(0, 5).flatMap((t) => [
      el("a", { href: `#/tx/${t.hash}` }, `${short(t.hash, 8)} ${rupiah(t.amount)}`), el("br")]))));
  return el("table", { class: "table", id: "audit-queue" },
    el("thead", {}, el("tr", {}, ...["#", "rule", "account", "home", "detail", "transactions"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows));
}

/** Show the desk if this node is an observer. */
export async function mountAuditDesk(section = document.getElementById("audit-desk")) {
  if (!section) return;
  const status = await get("/v1/status").catch(() => null);
  if (status?.role !== "observer") return;
  section.hidden = false;
  const file = el("input", { type: "file", accept: ".key,application/json" });
  const from = el("input", { type: "date", value: today() });
  const to = el("input", { type: "date", value: today() });
  const out = el("div", {});
  const button = el("button", { class: "fixed" }, "Load queue / Muat antrean");
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    out.replaceChildren(el("p", { class: "muted" }, "…"));
    try {
      const chosen = file.files?.[0];
      if (chosen) await withKeyFile(await chosen.text());
      if (!session.key) throw new Error("sign in with the regulator's key file / masuk dengan berkas kunci regulator");
      const report = await read(reportPath(from.value, to.value));
      const cash = report.cash_transactions?.rows?.length || 0;
      out.replaceChildren(
        el("p", {}, `${report.from} – ${report.to} · ${report.transactions} tx · ${cash} cash reports · ${report.flags.flags.length} flags · ${short(session.key.address, 14)}`),
        queue(report));
    } catch (error) {
      out.replaceChildren(el("p", { class: "error" }, `${error.code || "error"}: ${error.message}`));
    }
  });
  section.replaceChildren(
    el("h2", {}, "Regulator's desk / Meja regulator"),
    el("form", { class: "row" }, file, from, to, button),
    out);
}

if (typeof document !== "undefined") mountAuditDesk();
