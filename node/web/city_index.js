// The explorer's "Indeks Kota Koperasi" (cooperative city index) section:
// GET /v1/index (aggregates only: public) shown as a ranked table with the
// city's row, charts, the per-indicator ranking and every indicator's
// definition. Shown at #/index (with a population: #/index/250000); the
// rest of the explorer (explorer.js) owns #main, this owns its own section.
import * as api from "./api.js";
import { el, rupiah } from "./format.js";
import { lang } from "./i18n.js";
import { bars } from "./charts.js";
import { card, table } from "./ui.js";

const section = document.getElementById("city-index");
const body = document.getElementById("city-index-body");
const form = document.getElementById("city-index-form");
const input = document.getElementById("city-index-population");
const main = document.getElementById("main");

const WORDS = {
  id: {
    tab: "Indeks Kota", population: "Penduduk kota", show: "Tampilkan", date: "Tanggal (WIB)",
    height: "Tinggi", window: "Jendela", days: "hari", none: "—", rank: "Peringkat", coop: "Koperasi",
    score: "Skor", city: "Kota (semua koperasi)", table: "Indikator per koperasi",
    ranking: "Peringkat per indikator", definitions: "Definisi indikator",
    volume_chart: "Volume pembayaran 30 hari", cross_chart: "Konsolidasi pasar: porsi lintas koperasi (Rp)",
    cash_chart: "Tarik tunai untuk anggota koperasi lain (30 hari)", score_chart: "Skor komposit",
    active_chart: "Porsi anggota aktif 30 hari", bad_population: "Penduduk harus bilangan bulat positif.",
    no_coops: "Belum ada koperasi.",
  },
  en: {
    tab: "City index", population: "City population", show: "Show", date: "Date (WIB)",
    height: "Height", window: "Window", days: "days", none: "—", rank: "Rank", coop: "Cooperative",
    score: "Score", city: "City (all cooperatives)", table: "Indicators per cooperative",
    ranking: "Place per indicator", definitions: "Indicator definitions",
    volume_chart: "Payment volume, 30 days", cross_chart: "Market consolidation: cross-cooperative share (Rp)",
    cash_chart: "Cash-outs for other cooperatives' members (30 days)", score_chart: "Composite score",
    active_chart: "Share of members active in 30 days", bad_population: "The population must be a positive whole number.",
    no_coops: "No cooperatives yet.",
  },
};
const w = (key) => (WORDS[lang] ?? WORDS.id)[key] ?? key;

/** Basis points as a percentage: 1234 → "12,34 %" (id) / "12.34 %" (en); none → "—". */
export function percent(bp) {
  if (bp === null || bp === undefined) return w("none");
  const n = Number(bp);
  const sep = lang === "en" ? "." : ",";
  const abs = Math.abs(n);
  return `${n < 0 ? "−" : ""}${Math.floor(abs / 100)}${sep}${String(abs % 100).padStart(2, "0")} %`;
}

/** The columns of the main table: [field, title, format]. */
const COLUMNS = [
  ["members", (i) => i.members],
  ["active_members_30d", (i) => i.active_members_30d],
  ["active_share_bp", (i) => percent(i.active_share_bp)],
  ["new_members_30d", (i) => i.new_members_30d],
  ["member_growth_bp", (i) => percent(i.member_growth_bp)],
  ["payments_30d", (i) => i.payments_30d],
  ["payments_rupiah_30d", (i) => rupiah(i.payments_rupiah_30d)],
  ["volume_growth_bp", (i) => percent(i.volume_growth_bp)],
  ["cross_share_count_bp", (i) => percent(i.cross_share_count_bp)],
  ["cross_share_rupiah_bp", (i) => percent(i.cross_share_rupiah_bp)],
  ["fee_income_rupiah_30d", (i) => rupiah(i.fee_income_rupiah_30d)],
  ["cash_outs_for_others_30d", (i) => i.cash_outs_for_others_30d],
  ["cash_outs_for_others_rupiah_30d", (i) => rupiah(i.cash_outs_for_others_rupiah_30d)],
  ["members_per_population_bp", (i) => percent(i.members_per_population_bp)],
];

function route() {
  const [name, arg] = location.hash.replace(/^#\/?/, "").split("/");
  return { shown: name === "index", population: arg ? decodeURIComponent(arg) : "" };
}

function addTab() {
  const nav = document.querySelector("nav.tabs");
  if (!nav || nav.querySelector('a[data-tab="index"]')) return;
  const tab = el("a", { href: "#/index", "data-tab": "index", id: "city-index-tab" }, w("tab"));
  const wallet = nav.querySelector('a[href="/wallet"]');
  nav.insertBefore(tab, wallet);
}

function chartCard(title, items, fmt) {
  return card(title, items.length ? bars(items, fmt) : el("p", { class: "muted" }, w("no_coops")));
}

function render(index) {
  const titles = Object.fromEntries(index.definitions.map((d) => [d.field, d.title]));
  const rows = index.cooperatives.map((r) => el("tr", { "data-coop": r.id },
    el("td", { class: "num" }, r.rank),
    // Non-breaking hyphens: "ksp-sejahtera" stays on one line.
    el("td", { title: r.name }, el("strong", {}, r.id.replace(/-/g, "\u2011"))),
    el("td", { class: "num" }, r.score),
    COLUMNS.map(([, f]) => el("td", { class: "num" }, f(r.indicators)))));
  rows.push(el("tr", { "data-coop": "city", class: "city-row" },
    el("td", {}, ""), el("td", {}, el("strong", {}, w("city"))), el("td", {}, ""),
    COLUMNS.map(([, f]) => el("td", { class: "num" }, el("strong", {}, f(index.city))))));
  const head = el("tr", {}, el("th", { class: "num" }, w("rank")), el("th", {}, w("coop")), el("th", { class: "num" }, w("score")),
    COLUMNS.map(([field]) => el("th", { class: "num", title: field }, titles[field] ?? field)));
  const main_table = el("div", { class: "scroll" }, el("table", { id: "city-index-table" }, el("thead", {}, head), el("tbody", {}, rows)));

  const coops = index.cooperatives;
  // Two charts a row on a wide screen, one on a phone.
  const charts = el("div", { class: window.innerWidth >= 700 ? "grid2" : "" },
    chartCard(w("volume_chart"), coops.map((r) => ({ label: r.id, value: r.indicators.payments_rupiah_30d })), rupiah),
    chartCard(w("cross_chart"), coops.map((r) => ({ label: r.id, value: r.indicators.cross_share_rupiah_bp ?? 0, color: "#2f6db3" })), percent),
    chartCard(w("active_chart"), coops.map((r) => ({ label: r.id, value: r.indicators.active_share_bp ?? 0, color: "#8a5a00" })), percent),
    chartCard(w("cash_chart"), coops.map((r) => ({ label: r.id, value: r.indicators.cash_outs_for_others_30d, color: "#6b4fa3" })), (v) => String(v)),
    chartCard(w("score_chart"), coops.map((r) => ({ label: `${r.rank}. ${r.id}`, value: r.score, color: "#0f7a4f" })), (v) => String(v)));

  const ranking = card(w("ranking"),
    el("p", { class: "muted", id: "city-index-rule" }, index.ranking_rule),
    table([w("coop"), ...index.ranked_by.map((f) => titles[f] ?? f), w("score"), w("rank")],
      coops.map((r) => [r.id, ...index.ranked_by.map((f) => r.ranks[f]), r.score, r.rank]),
      [...index.ranked_by.map((_, i) => i + 1), index.ranked_by.length + 1, index.ranked_by.length + 2]));

  const definitions = card(w("definitions"), el("dl", { class: "kv", id: "city-index-definitions" },
    index.definitions.flatMap((d) => [el("dt", {}, d.title, el("br"), el("code", {}, d.field)), el("dd", {}, d.definition)])));

  body.replaceChildren(
    el("p", { class: "muted" },
      `${w("date")}: ${index.date} · ${w("height")} #${index.height} · ${w("window")}: ${index.window_days} ${w("days")}`
      + (index.population ? ` · ${w("population")}: ${Number(index.population).toLocaleString(lang === "en" ? "en-GB" : "id-ID")}` : "")),
    card(w("table"), main_table),
    charts,
    ranking,
    definitions);
}

async function show() {
  const r = route();
  addTab();
  const tab = document.getElementById("city-index-tab");
  tab?.replaceChildren(w("tab"));
  // explorer.js marks the active tab on its own renders; the first one
  // ran before this tab existed.
  tab?.classList.toggle("active", r.shown);
  section.hidden = !r.shown;
  main.hidden = r.shown;
  if (!r.shown) return;
  section.dataset.ready = "false";
  document.getElementById("city-index-label").textContent = w("population");
  document.getElementById("city-index-show").textContent = w("show");
  input.value = r.population;
  const query = r.population ? `?population=${encodeURIComponent(r.population)}` : "";
  try {
    render(await api.get(`/v1/index${query}`));
  } catch (e) {
    body.replaceChildren(card("", el("p", { class: "error" }, e.code === "bad_population" ? w("bad_population") : String(e.message))));
  }
  section.dataset.ready = "true";
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const p = input.value.trim().replace(/\./g, "");
  location.hash = p ? `#/index/${encodeURIComponent(p)}` : "#/index";
});
// After explorer.js's own listener has switched the language.
document.getElementById("lang")?.addEventListener("click", () => setTimeout(show, 0));
window.addEventListener("hashchange", show);
show();
