// The teller's counter view (#/counter/<coop-id>): cash-ins and cash-outs at
// this cooperative's counter (agent == coop), newest first. It starts from
// the most recent blocks and then follows /v1/events, so a member's cash-out
// lands on the teller's screen as soon as it is committed.
import * as api from "./api.js";
import { read, session } from "./session.js";
import { el } from "./format.js";
import { t } from "./i18n.js";
import { accLink, blockLink, card, kind, money, resultPill } from "./ui.js";

/** Blocks read back when the view opens, at most, in small pages (the API
 *  caps a page at 20 blocks and 2,000 transactions; the view asks for
 *  PAGE_BLOCKS a time and stops as soon as it has ROWS_MAX rows); the view
 *  then follows /v1/events, so older blocks are never needed again. */
export const SCAN_BLOCKS = 100;
/** Blocks asked for in one request. */
export const PAGE_BLOCKS = 20;
/** Rows kept on screen, and transactions looked up when the view opens. */
export const ROWS_MAX = 40;
const CASH = new Set(["cash_in", "cash_out"]);

let view = null; // { id, rows, list, summary }
let generation = 0;
// Blocks that arrive while the view is loading, applied once it is shown.
let buffered = null;

/** The member of a cash transaction: the signer of a cash-out, the payee of a cash-in. */
const memberOf = (tx) => (tx.kind === "cash_out" ? tx.signer : tx.to);
const codeOf = (result) => (typeof result === "string" ? result : result?.code);

function row(tx, fresh) {
  return el("li", { class: `counter-row${fresh ? " fresh" : ""}`, "data-tx": tx.hash, "data-kind": tx.kind, "data-result": tx.result ?? "" },
    el("div", { class: "line" },
      el("span", {}, el("strong", {}, kind(tx.kind)), " ", resultPill(tx.result)),
      el("strong", { class: "counter-amount" }, money(tx.amount))),
    el("div", { class: "line muted" },
      el("span", {}, accLink(tx.member), " · ", blockLink(tx.height),
        ...(tx.teller ? [" · ", el("span", { class: "counter-teller" }, `${t("counter_teller")}: ${tx.teller}`)] : [])),
      el("span", {}, `${t("fee")} `, money(tx.fees))));
}

function totals(rows) {
  const ok = rows.filter((r) => r.result === "ok");
  const sum = (k) => ok.filter((r) => r.kind === k).reduce((a, r) => a + BigInt(r.amount ?? 0), 0n);
  const fees = ok.reduce((a, r) => a + BigInt(r.fees ?? 0), 0n);
  const metric = (label, value) => el("div", { class: "metric" }, el("div", { class: "muted" }, label), el("strong", {}, value));
  return el("div", { class: "metrics" },
    metric(t("kind_cash_in"), money(sum("cash_in"))),
    metric(t("kind_cash_out"), money(sum("cash_out"))),
    metric(t("fee"), money(fees)));
}

function paint(freshHashes = new Set()) {
  if (!view) return;
  view.summary.replaceChildren(totals(view.rows));
  view.list.replaceChildren(...(view.rows.length
    ? view.rows.map((r) => row(r, freshHashes.has(r.hash)))
    : [el("li", { class: "muted", id: "counter-empty" }, t("counter_empty", { blocks: SCAN_BLOCKS }))]));
}

/** Render the counter of cooperative `id` into `main`. */
export async function counterView(main, id) {
  const mine = ++generation;
  view = null;
  buffered = [];
  const coops = await api.get("/v1/cooperatives");
  const coop = coops.cooperatives.find((c) => c.id === id && c.id !== "network");
  if (!coop) throw new api.ApiError(404, "unknown_cooperative", id);
  // Newest first: blocks come newest first; within a block, later is newer.
  const found = [];
  let before = null;
  for (let scanned = 0; scanned < SCAN_BLOCKS && found.length < ROWS_MAX;) {
    const page = await read(`/v1/blocks?limit=${PAGE_BLOCKS}${before ? `&before=${before}` : ""}`);
    if (mine !== generation) return;
    for (const b of page.blocks) {
      found.push(...(b.txs ?? [])
        .map((tx, index) => ({ ...tx, height: b.height, index }))
        .filter((tx) => CASH.has(tx.kind) && tx.agent === id)
        .reverse());
    }
    scanned += page.blocks.length;
    before = page.next_before;
    if (!before || !page.blocks.length) break;
  }
  found.splice(ROWS_MAX);
  const details = await Promise.all(found.map((tx) => read(`/v1/tx/${tx.hash}`).catch(() => null)));
  if (mine !== generation) return;
  const rows = found.map((tx, i) => {
    const d = details[i] ?? {};
    return { hash: tx.hash, kind: tx.kind, height: tx.height, member: memberOf(d.kind ? d : tx),
      amount: d.amount, fees: d.fees, result: codeOf(d.result) ?? codeOf(tx.result),
      teller: d.teller?.name ?? null };
  });
  const summary = el("div", { id: "counter-totals" });
  const ul = el("ul", { class: "list counter", id: "counter-list" });
  main.replaceChildren(
    card(`${t("counter_title")}: ${coop.name}`,
      el("p", { class: "muted" }, `${coop.id} · ${t("counter_intro", { blocks: SCAN_BLOCKS })}`),
      session.key ? "" : el("p", { class: "muted", id: "counter-sign-in" }, t("counter_sign_in")),
      summary),
    card(t("counter_latest"), ul),
  );
  view = { id, rows, list: ul, summary };
  paint();
  const missed = buffered ?? [];
  buffered = null;
  for (const b of missed) counterOnBlock(b);
}

/** A committed block from /v1/events: add this counter's cash transactions. */
export function counterOnBlock(block) {
  // The stream carries no transactions for a browser (EventSource cannot
  // sign): a signed-in desk reads the block's cash transactions itself.
  if (!block.txs && session.key && block.tx_count) {
    const h = block.height;
    read(`/v1/blocks/${h}`).then(async (full) => {
      if (!full.txs) return;
      const cash = full.txs.filter((tx) => CASH.has(tx.kind));
      const details = await Promise.all(cash.map((tx) => read(`/v1/tx/${tx.hash}`).catch(() => null)));
      counterOnBlock({ ...block, txs: cash.map((tx, i) => ({ ...tx, ...(details[i] ?? {}), agent: tx.agent })) });
    }).catch(() => {});
    return;
  }
  if (!view) {
    if (buffered && buffered.length < SCAN_BLOCKS) buffered.push(block);
    return;
  }
  const fresh = (block.txs ?? [])
    .filter((tx) => CASH.has(tx.kind) && tx.agent === view.id && !view.rows.some((r) => r.hash === tx.hash))
    .map((tx) => ({ hash: tx.hash, kind: tx.kind, height: block.height, member: memberOf(tx),
      amount: tx.amount, fees: tx.fees, result: codeOf(tx.result) }))
    .reverse();
  if (!fresh.length) return;
  view.rows = [...fresh, ...view.rows].slice(0, ROWS_MAX);
  paint(new Set(fresh.map((r) => r.hash)));
  // A cash-in a teller signed names the teller: the block's summary does
  // not carry it, the transaction's detail does.
  const mine = generation;
  for (const r of fresh.filter((r) => r.kind === "cash_in")) {
    read(`/v1/tx/${r.hash}`).then((d) => {
      if (mine !== generation || !view || !d?.teller?.name) return;
      r.teller = d.teller.name;
      paint();
    }).catch(() => {});
  }
}

/** Stop following (the explorer left the counter view). */
export function leaveCounter() {
  generation++;
  view = null;
  buffered = null;
}
