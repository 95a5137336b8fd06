// Building blocks shared by the explorer's views: cards, tables, key/value
// lists, links to blocks, transactions and accounts, result pills.
import { el, rupiah, short } from "./format.js";
import { reason, t } from "./i18n.js";

/** A transaction kind in words ("cash_out" → "Tarik tunai"). */
export const kind = (k) => { const s = t(`kind_${k}`); return s.startsWith("kind_") ? k : s; };
export const link = (href, text, cls) => el("a", { href, class: cls }, text);
export const blockLink = (h) => link(`#/block/${h}`, `#${h}`);
export const txLink = (h) => link(`#/tx/${h}`, short(h, 12), "mono");
export const accLink = (a) => (a ? link(`#/account/${a}`, short(a, 14), "mono") : "—");
/** An amount that never wraps mid-number ("Rp50.037.400" stays on one line). */
export const money = (v) => el("span", { class: "amount" }, rupiah(v));

/** A result code as a pill; the reason in words as its title. */
export function resultPill(code) {
  if (code == null) return el("span", { class: "pill" }, "…");
  return el("span", { class: `pill ${code === "ok" ? "ok" : "bad"}`, title: code === "ok" ? "" : reason(code) }, code);
}

export function card(title, ...children) {
  return el("div", { class: "card" }, title ? el("h2", { class: "card-title" }, title) : null, ...children);
}

export function table(headers, rows, numeric = []) {
  return el("div", { class: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", { class: numeric.includes(i) ? "num" : "" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: numeric.includes(i) ? "num" : "" }, c)))))));
}

export function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "—")]));
}
