// The public explorer: blocks and transactions (live over /v1/events),
// cooperatives with small inline SVG charts, a teller's counter view,
// settlement windows, incentive programmes and network health. Hash routes:
// #/, #/coops, #/counter/COOP, #/settlement, #/incentives, #/network,
// #/block/N, #/tx/HASH, #/account/ADDRESS.
import * as api from "./api.js";
import { read, session, withKeyFile, withWallet } from "./session.js";
import { isAddress } from "./address.js";
import { el, rupiah, short } from "./format.js";
import { apply, lang, reason, t, toggle } from "./i18n.js";
import { bars, gauge } from "./charts.js";
import { counterOnBlock, counterView, leaveCounter } from "./counter.js";
import { accLink, blockLink, card, kind, kv, link, money, resultPill, table, txLink } from "./ui.js";

const main = document.getElementById("main");
// Reads go through session.js: anonymous until someone signs in.
const live = { blocks: [], txs: [] };
/** A value translated by prefix ("role_" + "observer"), or the value itself. */
const word = (prefix, v) => { const s = t(`${prefix}${v}`); return s.startsWith(prefix) ? String(v ?? "—") : s; };
const locale = () => (lang === "id" ? "id-ID" : "en-GB");
const pct = (f) => `${(f * 100).toLocaleString(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 })} %`;
/** Milliseconds for people: "850 ms", "1,6 s". */
const duration = (ms) => (ms < 1000 ? `${ms} ms`
  : `${(ms / 1000).toLocaleString(locale(), { maximumFractionDigits: 1 })} s`);
/** A time in WIB (UTC+7, no daylight saving), whatever the phone's zone:
 *  "3 Mei 2025 14.03.05 WIB". */
const WIB_OFFSET_MS = 7 * 3600 * 1000;
const wib = (ms) => (ms ? `${new Date(Number(ms) + WIB_OFFSET_MS).toLocaleString(locale(), {
  timeZone: "UTC", day: "numeric", month: "short", year: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })} WIB` : "—");
/** What an offence was, in words: "Suara ganda (precommit)", "Usulan bertentangan". */
const offence = (e) => (e.kind === "duplicate_vote"
  ? `${t("evidence_duplicate_vote")}${e.vote ? ` (${e.vote})` : ""}`
  : word("evidence_", e.kind));
/** Where an offence was: "Tinggi 12 · putaran 0". */
const offenceAt = (e) => `${t("height")} ${e.height} · ${t("round").toLowerCase()} ${e.round}`;

// ---------- views ----------

async function latest() {
  const data = await read("/v1/blocks?limit=10");
  live.private = data.blocks.some((b) => !b.txs);
  live.blocks = data.blocks.map((b) => ({ height: b.height, hash: b.hash, txs: b.tx_count, proposer: b.proposer }));
  if (!live.txs.length) {
    live.txs = data.blocks.flatMap((b) => (b.txs ?? []).map((tx) => ({ ...tx, height: b.height }))).slice(0, 20);
    // Block listings carry no amounts or results: fill in the newest few.
    const details = await Promise.all(live.txs.slice(0, 10).map((tx) => read(`/v1/tx/${tx.hash}`).catch(() => null)));
    details.forEach((d, i) => {
      if (d) Object.assign(live.txs[i], { to: d.to, amount: d.amount, result: d.result?.code });
    });
  }
  renderLatest();
}

function renderLatest() {
  if (route().name !== "latest") return;
  main.replaceChildren(
    card(t("blocks"), table([t("height"), t("hash"), t("txs"), t("proposer")],
      live.blocks.slice(0, 10).map((b) => [blockLink(b.height), el("span", { class: "mono" }, short(b.hash, 12)), b.txs, accLink(b.proposer)]), [2])),
    live.private ? card(t("transactions"), el("p", { class: "muted", "data-field": "txs-private" }, t("txs_private"))) :
    card(t("transactions"), table([t("hash"), t("kind"), t("signer"), t("to"), t("amount_col"), t("result")],
      live.txs.slice(0, 20).map((tx) => [txLink(tx.hash), kind(tx.kind), accLink(tx.signer), accLink(tx.to),
        tx.amount != null ? rupiah(tx.amount) : "", resultPill(tx.result?.code ?? tx.result)]), [4])),
  );
}

async function blockView(h) {
  const b = await read(`/v1/blocks/${encodeURIComponent(h)}`);
  main.replaceChildren(
    card(`${t("block")} #${b.height}`, kv([
      [t("hash"), el("span", { class: "mono" }, b.hash)],
      [t("parent"), el("span", { class: "mono" }, b.parent)],
      [t("state_root"), el("span", { class: "mono" }, b.state_root)],
      [t("proposer"), accLink(b.proposer)],
      [t("block_time"), el("span", { "data-field": "block-time" }, wib(b.time_ms))],
      [t("validators"), b.certificate ? `${b.certificate.signers.length} (${t("round")} ${b.certificate.round})` : "—"],
    ]),
    el("p"), el("div", { class: "row" }, b.height > 1 ? link(`#/block/${b.height - 1}`, `← #${b.height - 1}`) : "", link(`#/block/${b.height + 1}`, `#${b.height + 1} →`))),
    b.txs ? card(t("transactions"), table([t("hash"), t("kind"), t("signer")], b.txs.map((tx) => [txLink(tx.hash), kind(tx.kind), accLink(tx.signer)])))
      : card(t("transactions"), el("p", { class: "muted" }, `${b.tx_count} · ${t("txs_private")}`)),
    b.evidence?.length ? card(t("evidence_title"), table([t("evidence_who"), t("evidence_what"), t("evidence_where")],
      b.evidence.map((e) => [accLink(e.offender), offence(e), offenceAt(e)]))) : "",
  );
}

async function txView(hash) {
  const tx = await read(`/v1/tx/${encodeURIComponent(hash)}`);
  const code = tx.result?.code;
  main.replaceChildren(card(`${t("tx")}`, kv([
    [t("hash"), el("span", { class: "mono" }, tx.hash)],
    [t("status"), word("status_", tx.status)],
    [t("result"), el("span", {}, resultPill(code), " ", code && code !== "ok" ? reason(code, tx.result?.message) : "")],
    [t("kind"), tx.kind ? kind(tx.kind) : ""],
    [t("block"), tx.height != null ? blockLink(tx.height) : "—"],
    [t("signer"), accLink(tx.signer)],
    ...(tx.teller ? [[t("counter_teller"), `${tx.teller.name} (${tx.teller.cooperative})`]] : []),
    [t("to"), accLink(tx.to)],
    ...(tx.agent ? [[t("agent"), link(`#/counter/${tx.agent}`, tx.agent)]] : []),
    [t("amount_col"), tx.amount != null ? money(tx.amount) : "—"],
    [t("fee"), tx.fees != null ? money(tx.fees) : "—"],
    [t("nonce"), tx.nonce],
  ]), el("pre", { class: "mono pre-wrap" }, JSON.stringify(tx.action ?? {}, null, 1))));
}

async function accountView(address) {
  let acc;
  try {
    acc = await read(`/v1/accounts/${encodeURIComponent(address)}`);
  } catch (e) {
    if (e.code !== "not_permitted") throw e;
    return main.replaceChildren(card(t("account"), el("p", { class: "mono" }, address),
      el("p", { "data-field": "account-private" }, t("account_private")), signInButton()));
  }
  if (acc.visibility === "public") {
    // A merchant seen by someone who may not read it: its public fields.
    return main.replaceChildren(card(t("account"), kv([
      ["", el("span", { class: "mono" }, acc.address)],
      ...(acc.merchant_name ? [[t("merchant_name_ledger"), acc.merchant_name]] : []),
      [t("home_coop"), acc.home], [t("kind"), word("acct_", acc.kind)], [t("status"), word("acct_", acc.status)],
      ...(typeof acc.merchant_class === "string" ? [[t("merchant_class"), className(acc.merchant_class)]] : []),
    ]), el("p", { class: "muted" }, t("merchant_public"))));
  }
  const hist = await read(`/v1/accounts/${encodeURIComponent(address)}/history?limit=25`).catch(() => ({ items: [] }));
  main.replaceChildren(
    card(t("account"), kv([
      ["", el("span", { class: "mono", "data-field": "account-address" }, acc.address)],
      [t("balance_visible_to"), t("balance_visible_to_who")],
      ...(acc.merchant_name ? [[t("merchant_name_ledger"), acc.merchant_name]] : []),
      [t("balance"), money(acc.balance)],
      [t("home_coop"), acc.home], [t("kind"), word("acct_", acc.kind)], [t("status"), word("acct_", acc.status)],
      [t("tier"), word("tier_", acc.tier)], [t("balance_cap"), money(acc.balance_cap)],
      ...(Number.isSafeInteger(acc.monthly_headroom) ? [[t("monthly_headroom"), money(acc.monthly_headroom)]] : []),
      ...(typeof acc.merchant_class === "string" ? [[t("merchant_class"), className(acc.merchant_class)]] : []),
      [t("nonce"), acc.nonce],
      ...(acc.key && acc.key !== acc.address ? [[t("current_key"), el("span", { class: "mono" }, acc.key)]] : []),
      ...(acc.recovery ? [[t("recovery_pending"), el("span", { class: "mono" },
        `${acc.recovery.new_key} · ${acc.recovery.started_by.cooperative} · ${new Date(acc.recovery.effective_ms).toISOString()}`)]] : []),
    ])),
    card(t("history"), table([t("hash"), t("kind"), t("block"), t("signer"), t("to"), t("amount_col"), t("result")],
      hist.items.map((tx) => [txLink(tx.hash), kind(tx.kind), blockLink(tx.height),
        tx.teller ? el("span", {}, accLink(tx.signer), ` ${tx.teller.name}`) : accLink(tx.signer), accLink(tx.to),
        tx.amount != null ? rupiah(tx.amount) : "", resultPill(tx.result?.code)]), [5]),
      Number.isSafeInteger(hist.pruned_before)
        ? el("p", { class: "muted", "data-field": "pruned-history" }, t("pruned_history", { base: hist.pruned_before })) : ""),
  );
}

async function coopsView() {
  const data = await api.get("/v1/cooperatives");
  const coops = data.cooperatives;
  const metric = (label, value, field) => el("div", { class: "metric", "data-field": field },
    el("div", { class: "muted" }, label), el("strong", {}, value));
  // Busiest first, so a phone shows the active cooperatives without scrolling.
  const byVolume = [...coops].sort((a, b) => b.volume - a.volume);
  const cards = byVolume.map((c) => {
    // Share of this cooperative's own volume that crossed to or from others.
    const share = c.volume ? c.cross_volume / c.volume : 0;
    const used = c.ndc ? Math.max(0, 1 - c.ndc_headroom / c.ndc) : 0;
    return el("div", { class: "card coop", "data-coop": c.id },
      el("h3", {}, c.name, " ", el("span", { class: "muted" }, c.id), c.active ? "" : el("span", { class: "pill bad" }, t("inactive"))),
      el("div", { class: "metrics" },
        metric(t("members"), String(c.members), "members"),
        metric(t("merchants"), String(c.merchants), "merchants"),
        metric(t("fees_earned"), money(c.fees_earned), "fees"),
        metric(t("volume_short"), money(c.volume), "volume"),
        metric(t("cross_share_short"), c.volume ? pct(share) : "—", "cross-share"),
        metric(t("position"), money(c.position), "position"),
        metric(t("ndc_headroom"), money(c.ndc_headroom), "headroom")),
      el("div", { class: "muted" }, t("volume")),
      bars([
        { label: t("on_us"), value: c.on_us_volume, color: "#3a6ea5" },
        { label: t("cross_out"), value: c.gross_sent, color: "#d08a1f" },
        { label: t("cross_in"), value: c.gross_received },
      ]),
      el("div", { class: "muted" }, `${t("cross_share")}: ${c.volume ? pct(share) : "—"}`),
      gauge(share, "#d08a1f"),
      el("div", { class: "muted" }, t("ndc_used", { ndc: rupiah(c.ndc), pct: pct(used) })),
      gauge(used, used > 0.8 ? "#b3261e" : "#0f7a4f"),
      mdrIncome(c.mdr_income),
      c.id === "network" ? null : el("p", { class: "card-link" }, link(`#/counter/${c.id}`, `${t("counter_link")} →`, "counter-link")),
    );
  });
  // The cooperatives first (a phone shows the busiest one at once), then
  // the network's positions and what the figures mean.
  main.replaceChildren(
    el("div", { class: "coop-grid", id: "coops" }, cards),
    card(t("position"), bars(coops.map((c) => ({ label: c.id, value: c.position })))),
    card(t("definitions"), el("p", { class: "muted", id: "volume-def" }, t("volume_def"))),
  );
}

/** A merchant class in words ("small" → "kecil"). */
const className = (c) => word("class_", c);

/** A cooperative's merchant discount income by merchant class (issuer and
 *  acquirer shares), largest first; only whole rupiah amounts are shown. */
function mdrIncome(income) {
  const rows = Object.entries(income && typeof income === "object" ? income : {})
    .filter(([, v]) => Number.isSafeInteger(v) && v > 0)
    .sort((a, b) => b[1] - a[1]);
  return el("div", { "data-field": "mdr-income" },
    el("h3", { class: "small-heading" }, t("mdr_income")),
    rows.length
      ? el("dl", { class: "kv" }, rows.flatMap(([c, v]) => [el("dt", {}, className(c)), el("dd", { "data-class": c }, money(v))]))
      : el("p", { class: "muted" }, t("no_mdr_income")));
}

/** Incentive programmes (GET /v1/incentives): terms, what each paid and
 *  to how many, and whether it pays now. */
async function incentivesView() {
  const data = await api.get("/v1/incentives");
  const list = Array.isArray(data?.programmes) ? data.programmes : [];
  const amount = (v) => (Number.isSafeInteger(v) ? money(v) : "—");
  const count = (v) => (Number.isSafeInteger(v) ? String(v) : "—");
  const bps = (v) => (Number.isSafeInteger(v) ? pct(v / 10000) : "—");
  const cards = list.map((p) => {
    const classes = Array.isArray(p.classes) && p.classes.length ? p.classes.map((c) => className(String(c))).join(", ") : t("all_classes");
    return el("div", { class: "card", "data-programme": String(p.id) },
      el("h3", {}, String(p.name ?? ""), " ",
        el("span", { class: `pill ${p.live ? "ok" : ""}`, "data-field": "live" }, t(p.live ? "programme_live" : "programme_ended"))),
      el("div", { class: "metrics" }, [
        [t("budget"), amount(p.budget), "budget"], [t("paid"), amount(p.paid), "paid"],
        [t("budget_left"), amount(p.budget_left), "budget-left"], [t("payments"), count(p.payments), "payments"],
        [t("members_reached"), count(p.members_reached), "members-reached"], [t("cashback_rate"), bps(p.cashback_bps), "cashback"],
      ].map(([label, value, field]) => el("div", { class: "metric", "data-field": field },
        el("div", { class: "muted" }, label), el("strong", {}, value)))),
      kv([
        [t("member_monthly_cap"), amount(p.member_monthly_cap)],
        [t("qualifies"), p.cross_only ? `${classes} · ${t("cross_only")}` : classes],
        [t("ends_at"), Number.isSafeInteger(p.ends_at_ms) ? wib(p.ends_at_ms) : "—"],
      ]));
  });
  main.replaceChildren(
    card(t("incentives"), el("p", { class: "muted" }, t("incentives_intro")),
      cards.length ? "" : el("p", { class: "muted", "data-field": "no-incentives" }, t("no_incentives"))),
    el("div", { id: "programmes" }, cards),
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
  const [data, coops] = await Promise.all([api.get("/v1/settlement/windows?limit=10"), api.get("/v1/cooperatives")]);
  const openEntries = Object.fromEntries(coops.cooperatives.map((c) => [c.id, { position: c.position, bilateral: c.bilateral }]));
  const sections = [
    card(`${t("window")} ${data.open_window} — ${t("open_window")}`,
      bars(Object.entries(openEntries).map(([id, e]) => ({ label: id, value: e.position }))),
      el("h3", { class: "small-heading" }, t("bilateral")), matrix(openEntries)),
  ];
  if (!data.windows.length) sections.push(card("", el("p", { class: "muted" }, t("no_windows"))));
  // Newest first, as the API pages them.
  for (const w of data.windows) {
    sections.push(card(`${t("window")} ${w.number} — ${w.settled ? t("settled") : t("not_settled")}`,
      el("p", { class: "muted" }, `${t("block")} #${w.closed_at_height}`),
      table(["", t("position"), t("acknowledged")], Object.entries(w.entries).map(([id, e]) => [id, rupiah(e.position), e.acknowledged ? "✓" : "—"]), [1]),
      bars(Object.entries(w.entries).map(([id, e]) => ({ label: id, value: e.position }))),
      el("h3", { class: "small-heading" }, t("bilateral")), matrix(w.entries)));
  }
  main.replaceChildren(...sections);
}

const nowrap = (text) => el("span", { class: "amount" }, text);

function latencyText(lat) {
  if (!lat?.samples) return t("no_latency");
  const one = (name, ms, over) => nowrap(`${name} ${over ? `> ${duration(lat.max_bucket_ms)}` : `≤ ${duration(ms)}`}`);
  return el("span", {}, one("p50", lat.p50_ms, lat.p50_over_max), " · ", one("p99", lat.p99_ms, lat.p99_over_max),
    el("div", { class: "muted small" }, t("latency_samples", { n: lat.samples })));
}

function intervalText(iv) {
  if (!iv?.intervals) return t("no_interval");
  return el("span", {}, nowrap(duration(iv.mean_ms)),
    el("div", { class: "muted small" }, t("interval_detail", { n: iv.intervals, last: duration(iv.last_ms) })));
}

/** The misbehaviour the chain recorded (GET /v1/evidence, newest first), or
 *  why it could not be read. */
function evidencePanel(answer) {
  let body;
  if (answer instanceof Error) body = el("p", { class: "error" }, String(answer.message));
  else if (!answer.evidence.length) body = el("p", { class: "muted", "data-field": "evidence-empty" }, t("no_evidence"));
  else {
    // One entry a row of two lines (a phone has no room for four columns):
    // who and what, then where and the block that recorded it.
    body = el("ul", { class: "list" }, answer.evidence.map((e) => el("li", { class: "evidence-row" },
      el("div", {},
        el("strong", { class: "mono", "data-field": "who", title: e.offender_address },
          e.cooperative ?? accLink(e.offender_address)),
        " — ", el("span", { "data-field": "what" }, offence(e))),
      el("div", { class: "muted" },
        el("span", { "data-field": "where" }, offenceAt(e)), " · ",
        el("span", { "data-field": "recorded" }, `${t("evidence_recorded").toLowerCase()} `, blockLink(e.included_in_block))))));
  }
  return el("div", { class: "card", id: "evidence" }, el("h2", { class: "card-title" }, t("evidence_title")),
    el("p", { class: "muted small" }, t("evidence_intro")), body);
}

async function networkView() {
  const [status, genesis, list, evidence] = await Promise.all([api.get("/v1/status"), api.get("/v1/genesis"),
    // Headers only: who proposed the last 20 blocks.
    api.get("/v1/blocks?limit=20&txs=false"), api.get("/v1/evidence?limit=20").catch((e) => e)]);
  const validators = (genesis.ledger ?? genesis).cooperatives.filter((c) => c.voting_power > 0);
  const lastProposed = {};
  for (const b of list.blocks) lastProposed[b.proposer] ??= b.height;
  const lastSigned = {};
  const recent = await Promise.all(list.blocks.slice(0, 8).map((b) => api.get(`/v1/blocks/${b.height}`).catch(() => null)));
  for (const b of recent) for (const s of b?.certificate?.signers ?? []) lastSigned[s] ??= b.height;
  const field = (name, value) => el("span", { "data-field": name }, value);
  main.replaceChildren(
    card(t("network"), kv([
      [t("chain"), status.chain_id], [t("height"), String(status.height)], [t("role"), word("role_", status.role)],
      [t("peers"), String(status.peer_count)], [t("round"), String(status.round)],
      [t("syncing"), status.syncing ? t("yes") : t("no")], [t("mempool"), String(status.mempool_size)],
      [t("commit_latency"), field("commit-latency", latencyText(status.commit_latency))],
      [t("block_interval"), field("block-interval", intervalText(status.block_interval))],
    ])),
    card(t("validators"), table([t("cooperatives"), t("last_proposed"), t("last_signed")],
      validators.map((v) => [el("span", { title: `${v.name} · ${t("voting_power")} ${v.voting_power}` }, v.id),
        lastProposed[v.key] ? blockLink(lastProposed[v.key]) : "—", lastSigned[v.key] ? blockLink(lastSigned[v.key]) : "—"]))),
    evidencePanel(evidence),
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
  if (r.name !== "counter") leaveCounter();
  try {
    switch (r.name) {
      case "coops": await coopsView(); break;
      case "counter": await counterView(main, r.arg); break;
      case "settlement": await settlementView(); break;
      case "incentives": await incentivesView(); break;
      case "network": await networkView(); break;
      case "block": await blockView(r.arg); break;
      case "tx": await txView(r.arg); break;
      case "account": await accountView(r.arg); break;
      case "me": await meView(); break;
      default: await latest();
    }
  } catch (e) {
    const text = e.code === "pruned" && e.baseHeight != null ? t("pruned", { base: e.baseHeight })
      : e.code === "unknown_tx" || e.code === "unknown_cooperative" || e.status === 404 ? t("not_found") : String(e.message);
    main.replaceChildren(card("", el("p", { class: "error", "data-field": e.code === "pruned" ? "pruned" : "error" }, text)));
  }
  main.dataset.ready = "true";
}

// ---------- signing in ----------

/** "Sign in with your wallet": this device's wallet key, if it has one. */
async function signIn() {
  if (!(await withWallet())) {
    main.replaceChildren(card(t("sign_in"), el("p", { "data-field": "no-wallet" }, t("sign_in_no_wallet")), link("/wallet", t("wallet_title"))));
    return;
  }
  signedIn();
  location.hash = "#/me";
  render();
}

function signedIn() {
  const button = document.getElementById("sign-in");
  button.textContent = t("signed_in");
  button.title = session.key.address;
}

/** The sign-in choices: this device's wallet, or a desk's key file. */
function signInButton() {
  const b = el("button", { class: "small", "data-field": "sign-in-here" }, t("sign_in"));
  b.addEventListener("click", signIn);
  const text = el("textarea", { id: "key-file-text", rows: "3", placeholder: t("key_file_ph") });
  const use = el("button", { class: "small", id: "key-file-use" }, t("sign_in_key_file"));
  const error = el("p", { class: "error", id: "key-file-error" });
  use.addEventListener("click", async () => {
    try {
      await withKeyFile(text.value);
      text.value = "";
      signedIn();
      render();
    } catch (e) {
      error.textContent = String(e.message);
    }
  });
  return el("div", {}, el("p", {}, b), el("p", { class: "muted" }, t("sign_in_desk")), text, el("p", {}, use), error);
}

/** The signed-in member's own account (the address its key signs for). */
async function meView() {
  if (!session.key) {
    return main.replaceChildren(card(t("my_account"), el("p", {}, t("sign_in_why")), signInButton()));
  }
  if (session.via === "key_file") {
    return main.replaceChildren(card(t("my_account"), kv([
      ["", el("span", { class: "mono", "data-field": "signed-in-as" }, session.key.address)],
      [t("role"), word("role_", (await read(`/v1/signers/${session.key.address}`).catch(() => ({}))).role)],
    ])));
  }
  const signer = await read(`/v1/signers/${session.key.address}`);
  await accountView(signer.account ?? session.key.address);
}

let refreshTimer = null;
function onBlock(b) {
  document.getElementById("top-height").textContent = `#${b.height}`;
  live.blocks.unshift({ height: b.height, hash: b.hash, txs: b.tx_count ?? b.txs?.length ?? 0, proposer: "" });
  live.blocks = live.blocks.slice(0, 10);
  live.private = !b.txs;
  live.txs = [...(b.txs ?? []).map((tx) => ({ ...tx, height: b.height })), ...live.txs].slice(0, 20);
  const name = route().name;
  if (name === "latest") renderLatest();
  else if (name === "counter") counterOnBlock(b);
  else if (((["coops", "settlement", "incentives"].includes(name) && (b.tx_count ?? b.txs?.length)) || name === "network") && !refreshTimer) {
    refreshTimer = setTimeout(() => { refreshTimer = null; render(); }, name === "network" ? 5000 : 1000);
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
document.getElementById("sign-in").addEventListener("click", signIn);
window.addEventListener("hashchange", render);
apply();
render();
api.onBlocks(onBlock);
document.getElementById("live").classList.add("on");
