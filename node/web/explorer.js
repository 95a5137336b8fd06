// The public explorer: blocks and transactions (live over /v1/events),
// cooperatives with small inline SVG charts, settlement windows and network
// health. Hash routes: #/, #/coops, #/settlement, #/network, #/block/N,
// #/tx/HASH, #/account/ADDRESS.
import * as api from "./api.js";
import { isAddress } from "./address.js";
import { el, rupiah, short } from "./format.js";
import { apply, reason, t, toggle } from "./i18n.js";

const main = document.getElementById("main");
const live = { blocks: [], txs: [], times: [] };
const kind = (k) => { const s = t(`kind_${k}`); return s.startsWith("kind_") ? k : s; };
const link = (href, text, cls) => el("a", { href, class: cls }, text);
const blockLink = (h) => link(`#/block/${h}`, `#${h}`);
const txLink = (h) => link(`#/tx/${h}`, short(h, 12), "mono");
const accLink = (a) => (a ? link(`#/account/${a}`, short(a, 14), "mono") : "—");
const resultPill = (code) => code == null ? el("span", { class: "pill" }, "…")
  : el("span", { class: `pill ${code === "ok" ? "ok" : "bad"}`, title: code === "ok" ? "" : reason(code) }, code);

function card(title, ...children) {
  return el("div", { class: "card" }, title ? el("h2", { style: "margin:0 0 8px;font-size:1.1rem" }, title) : null, ...children);
}

function table(headers, rows, numeric = []) {
  return el("div", { class: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", { class: numeric.includes(i) ? "num" : "" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: numeric.includes(i) ? "num" : "" }, c)))))));
}

function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "—")]));
}

// ---------- tiny SVG charts ----------

const SVGNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...kids) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

/** Horizontal bars: [{label, value, color}] scaled to the largest |value|. */
function bars(items, fmt = rupiah) {
  const w = 320, rowH = 22, labelW = 120;
  const max = Math.max(1, ...items.map((i) => Math.abs(Number(i.value))));
  const signed = items.some((i) => Number(i.value) < 0);
  const zero = signed ? labelW + (w - labelW) / 2 : labelW;
  const span = signed ? (w - labelW) / 2 - 4 : w - labelW - 4;
  const g = svg("svg", { viewBox: `0 0 ${w} ${items.length * rowH + 4}`, class: "chart", role: "img" });
  items.forEach((item, i) => {
    const v = Number(item.value);
    const len = (Math.abs(v) / max) * span;
    const y = i * rowH + 4;
    g.append(svg("text", { x: 0, y: y + 13, "font-size": 11, fill: "#5d6a63" }, item.label));
    g.append(svg("rect", { x: v < 0 ? zero - len : zero, y, width: Math.max(1, len), height: rowH - 8, rx: 3,
      fill: item.color ?? (v < 0 ? "#b3261e" : "#0f7a4f") }, svg("title", {}, `${item.label}: ${fmt(v)}`)));
  });
  if (signed) g.append(svg("line", { x1: zero, x2: zero, y1: 0, y2: items.length * rowH + 4, stroke: "#999" }));
  return g;
}

/** A gauge: used / total as a filled bar. */
function gauge(fraction, color = "#0f7a4f") {
  const f = Math.max(0, Math.min(1, fraction || 0));
  return svg("svg", { viewBox: "0 0 200 14", class: "chart", role: "img" },
    svg("rect", { x: 0, y: 0, width: 200, height: 14, rx: 7, fill: "#e9e6de" }),
    svg("rect", { x: 0, y: 0, width: 200 * f, height: 14, rx: 7, fill: color }));
}

// ---------- views ----------

async function latest() {
  const data = await api.get("/v1/blocks?limit=15");
  live.blocks = data.blocks.map((b) => ({ height: b.height, hash: b.hash, txs: b.tx_count, proposer: b.proposer }));
  if (!live.txs.length) {
    live.txs = data.blocks.flatMap((b) => b.txs.map((tx) => ({ ...tx, height: b.height }))).slice(0, 20);
    // Block listings carry no amounts or results: fill in the newest few.
    const details = await Promise.all(live.txs.slice(0, 10).map((tx) => api.get(`/v1/tx/${tx.hash}`).catch(() => null)));
    details.forEach((d, i) => {
      if (d) Object.assign(live.txs[i], { to: d.to, amount: d.amount, result: d.result?.code });
    });
  }
  renderLatest();
}

function renderLatest() {
  if (route().name !== "latest") return;
  main.replaceChildren(
    card(t("blocks"), table([t("height"), "hash", t("txs"), t("proposer")],
      live.blocks.slice(0, 15).map((b) => [blockLink(b.height), el("span", { class: "mono" }, short(b.hash, 12)), b.txs, accLink(b.proposer)]), [2])),
    card(t("transactions"), table(["hash", "", t("signer"), t("to"), t("amount"), t("result")],
      live.txs.slice(0, 20).map((tx) => [txLink(tx.hash), kind(tx.kind), accLink(tx.signer), accLink(tx.to),
        tx.amount != null ? rupiah(tx.amount) : "", resultPill(tx.result?.code ?? tx.result)]), [4])),
  );
}

async function blockView(h) {
  const b = await api.get(`/v1/blocks/${encodeURIComponent(h)}`);
  main.replaceChildren(
    card(`${t("block")} #${b.height}`, kv([
      ["hash", el("span", { class: "mono" }, b.hash)],
      ["parent", el("span", { class: "mono" }, b.parent)],
      ["state root", el("span", { class: "mono" }, b.state_root)],
      [t("proposer"), accLink(b.proposer)],
      [t("validators"), b.certificate ? `${b.certificate.signers.length} (round ${b.certificate.round})` : "—"],
    ]),
    el("p"), el("div", { class: "row" }, b.height > 1 ? link(`#/block/${b.height - 1}`, `← #${b.height - 1}`) : "", link(`#/block/${b.height + 1}`, `#${b.height + 1} →`))),
    card(t("transactions"), table(["hash", "", t("signer")], b.txs.map((tx) => [txLink(tx.hash), kind(tx.kind), accLink(tx.signer)]))),
  );
}

async function txView(hash) {
  const tx = await api.get(`/v1/tx/${encodeURIComponent(hash)}`);
  const code = tx.result?.code;
  main.replaceChildren(card(`${t("tx")}`, kv([
    ["hash", el("span", { class: "mono" }, tx.hash)],
    [t("status"), tx.status],
    [t("result"), el("span", {}, resultPill(code), " ", code && code !== "ok" ? reason(code, tx.result?.message) : "")],
    ["", tx.kind ? kind(tx.kind) : ""],
    [t("block"), tx.height != null ? blockLink(tx.height) : "—"],
    [t("signer"), accLink(tx.signer)],
    [t("to"), accLink(tx.to)],
    [t("amount"), tx.amount != null ? rupiah(tx.amount) : "—"],
    ["nonce", tx.nonce],
  ]), el("pre", { class: "mono", style: "white-space:pre-wrap" }, JSON.stringify(tx.action ?? {}, null, 1))));
}

async function accountView(address) {
  const [acc, hist] = await Promise.all([
    api.get(`/v1/accounts/${encodeURIComponent(address)}`),
    api.get(`/v1/accounts/${encodeURIComponent(address)}/history?limit=25`).catch(() => ({ items: [] })),
  ]);
  main.replaceChildren(
    card(t("account"), kv([
      ["", el("span", { class: "mono" }, acc.address)],
      [t("balance"), rupiah(acc.balance)],
      [t("home_coop"), acc.home], ["kind", acc.kind], [t("status"), acc.status], ["tier", acc.tier],
      ["cap", rupiah(acc.balance_cap)], ["nonce", acc.nonce],
    ])),
    card(t("history"), table(["hash", "", t("block"), t("signer"), t("to"), t("amount"), t("result")],
      hist.items.map((tx) => [txLink(tx.hash), kind(tx.kind), blockLink(tx.height), accLink(tx.signer), accLink(tx.to),
        tx.amount != null ? rupiah(tx.amount) : "", resultPill(tx.result?.code)]), [5])),
  );
}

async function coopsView() {
  const data = await api.get("/v1/cooperatives");
  const coops = data.cooperatives;
  const totalVolume = coops.reduce((a, c) => a + c.gross_sent + c.gross_received, 0);
  const metric = (label, value) => el("div", { class: "metric" }, el("div", { class: "muted" }, label), el("strong", {}, value));
  // Busiest first, so a phone shows the active cooperatives without scrolling.
  const byVolume = [...coops].sort((a, b) => (b.gross_sent + b.gross_received) - (a.gross_sent + a.gross_received));
  const cards = byVolume.map((c) => {
    const volume = c.gross_sent + c.gross_received;
    const share = totalVolume ? volume / totalVolume : 0;
    const used = c.ndc ? Math.max(0, 1 - c.ndc_headroom / c.ndc) : 0;
    return el("div", { class: "card coop", "data-coop": c.id },
      el("h3", {}, c.name, " ", el("span", { class: "muted" }, c.id), c.active ? "" : el("span", { class: "pill bad" }, "inactive")),
      el("div", { class: "metrics" },
        metric(t("members"), String(c.members)),
        metric(t("merchants"), String(c.merchants)),
        metric(t("fees_earned"), rupiah(c.fees_earned)),
        metric(t("volume_short"), rupiah(volume)),
        metric(t("position"), rupiah(c.position)),
        metric(t("ndc_headroom"), rupiah(c.ndc_headroom))),
      el("div", { class: "muted" }, t("volume")),
      bars([{ label: t("sent"), value: c.gross_sent, color: "#d08a1f" }, { label: t("received"), value: c.gross_received }]),
      el("div", { class: "muted" }, `${t("cross_share")}: ${(share * 100).toFixed(1)} %`),
      gauge(share, "#3a6ea5"),
      el("div", { class: "muted" }, `NDC ${rupiah(c.ndc)}: ${(used * 100).toFixed(0)} %`),
      gauge(used, used > 0.8 ? "#b3261e" : "#0f7a4f"),
    );
  });
  main.replaceChildren(
    card(t("position"), bars(coops.map((c) => ({ label: c.id, value: c.position })))),
    el("div", { class: "coop-grid", id: "coops" }, cards),
  );
}

function matrix(entries) {
  const ids = Object.keys(entries);
  const any = ids.some((id) => Object.keys(entries[id].bilateral ?? {}).length);
  if (!any) return el("p", { class: "muted" }, t("no_bilateral"));
  return table(["", ...ids], ids.map((row) => [row, ...ids.map((col) => {
    const v = entries[row].bilateral?.[col];
    return v ? rupiah(v) : row === col ? "·" : "0";
  })]), ids.map((_, i) => i + 1));
}

async function settlementView() {
  const [data, coops] = await Promise.all([api.get("/v1/settlement/windows"), api.get("/v1/cooperatives")]);
  const openEntries = Object.fromEntries(coops.cooperatives.map((c) => [c.id, { position: c.position, bilateral: c.bilateral }]));
  const sections = [
    card(`${t("window")} ${data.open_window} — ${t("open_window")}`,
      bars(Object.entries(openEntries).map(([id, e]) => ({ label: id, value: e.position }))),
      el("h3", { style: "font-size:1rem" }, t("bilateral")), matrix(openEntries)),
  ];
  if (!data.windows.length) sections.push(card("", el("p", { class: "muted" }, t("no_windows"))));
  for (const w of [...data.windows].reverse()) {
    sections.push(card(`${t("window")} ${w.number} — ${w.settled ? t("settled") : t("not_settled")}`,
      el("p", { class: "muted" }, `${t("block")} #${w.closed_at_height}`),
      table(["", t("position"), t("acknowledged")], Object.entries(w.entries).map(([id, e]) => [id, rupiah(e.position), e.acknowledged ? "✓" : "—"]), [1]),
      bars(Object.entries(w.entries).map(([id, e]) => ({ label: id, value: e.position }))),
      el("h3", { style: "font-size:1rem" }, t("bilateral")), matrix(w.entries)));
  }
  main.replaceChildren(...sections);
}

async function networkView() {
  const [status, genesis, list] = await Promise.all([api.get("/v1/status"), api.get("/v1/genesis"), api.get("/v1/blocks?limit=50")]);
  const validators = (genesis.ledger ?? genesis).cooperatives.filter((c) => c.voting_power > 0);
  const lastProposed = {};
  for (const b of list.blocks) lastProposed[b.proposer] ??= b.height;
  const lastSigned = {};
  const recent = await Promise.all(list.blocks.slice(0, 8).map((b) => api.get(`/v1/blocks/${b.height}`).catch(() => null)));
  for (const b of recent) for (const s of b?.certificate?.signers ?? []) lastSigned[s] ??= b.height;
  const gaps = live.times.slice(1).map((x, i) => x - live.times[i]);
  const interval = gaps.length ? `${(gaps.reduce((a, b) => a + b, 0) / gaps.length / 1000).toFixed(2)} s` : "…";
  main.replaceChildren(
    card(t("network"), kv([
      [t("chain"), status.chain_id], [t("height"), String(status.height)], ["role", status.role],
      [t("peers"), String(status.peer_count)], ["round", String(status.round)], ["syncing", String(status.syncing)],
      ["mempool", String(status.mempool_size)], [t("block_interval"), interval],
    ])),
    card(t("validators"), table([t("cooperatives"), t("last_proposed"), t("last_signed")],
      validators.map((v) => [el("span", { title: `${v.name} · ${t("voting_power")} ${v.voting_power}` }, v.id),
        lastProposed[v.key] ? blockLink(lastProposed[v.key]) : "—", lastSigned[v.key] ? blockLink(lastSigned[v.key]) : "—"]))),
    card(t("peers"), el("ul", { class: "list mono" }, status.peers.map((p) => el("li", {}, p)))),
  );
}

// ---------- routing and live updates ----------

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const [name, arg] = parts;
  return { name: name || "latest", arg: arg ? decodeURIComponent(arg) : undefined };
}

async function render() {
  const r = route();
  for (const a of document.querySelectorAll("nav.tabs a[data-tab]")) a.classList.toggle("active", a.dataset.tab === r.name);
  main.dataset.view = r.name;
  main.dataset.ready = "false";
  try {
    switch (r.name) {
      case "coops": await coopsView(); break;
      case "settlement": await settlementView(); break;
      case "network": await networkView(); break;
      case "block": await blockView(r.arg); break;
      case "tx": await txView(r.arg); break;
      case "account": await accountView(r.arg); break;
      default: await latest();
    }
  } catch (e) {
    main.replaceChildren(card("", el("p", { class: "error" }, e.code === "unknown_tx" || e.status === 404 ? t("not_found") : String(e.message))));
  }
  main.dataset.ready = "true";
}

let refreshTimer = null;
function onBlock(b) {
  document.getElementById("top-height").textContent = `#${b.height}`;
  live.times.push(Date.now());
  if (live.times.length > 20) live.times.shift();
  live.blocks.unshift({ height: b.height, hash: b.hash, txs: b.txs.length, proposer: "" });
  live.blocks = live.blocks.slice(0, 15);
  live.txs = [...b.txs.map((tx) => ({ ...tx, height: b.height })), ...live.txs].slice(0, 20);
  const name = route().name;
  if (name === "latest") renderLatest();
  else if (["coops", "settlement"].includes(name) && b.txs.length && !refreshTimer) {
    refreshTimer = setTimeout(() => { refreshTimer = null; render(); }, 1000);
  }
}

document.getElementById("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("search").value.trim();
  if (/^\d+$/.test(q)) location.hash = `#/block/${q}`;
  else if (/^[0-9a-f]{64}$/i.test(q)) location.hash = `#/tx/${q.toLowerCase()}`;
  else if (isAddress(q)) location.hash = `#/account/${q}`;
});
document.getElementById("lang").addEventListener("click", () => { toggle(); render(); });
window.addEventListener("hashchange", render);
apply();
render();
api.onBlocks(onBlock);
document.getElementById("live").classList.add("on");
