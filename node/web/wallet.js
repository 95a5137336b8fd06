// The phone wallet. Keys stay here: the page generates an Ed25519 key with
// WebCrypto, keeps it in IndexedDB, encodes transactions with codec.js (the
// ledger's exact bytes) and signs them locally; the node only sees signed
// transactions. Every screen is a <section data-view>.
import * as api from "./api.js";
import { isAddress } from "./address.js";
import { encodeBody, encodeTx, signingBytes, toBase64 } from "./codec.js";
import { el, parseRupiah, rupiah, short } from "./format.js";
import { apply, reason, t, toggle } from "./i18n.js";
import * as keys from "./keys.js";
import * as qris from "./qris.js";

const $ = (id) => document.getElementById(id);
const state = { key: null, chainId: null, account: null, coops: [], pending: null, view: null };

function show(view) {
  state.view = view;
  for (const s of document.querySelectorAll("section[data-view]")) s.hidden = s.dataset.view !== view;
  $("error").hidden = true;
  window.scrollTo(0, 0);
}

function fail(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

const qrUrl = (text) => `/v1/qr?data=${encodeURIComponent(text)}`;

// ---------- start ----------

async function start() {
  apply();
  $("lang").addEventListener("click", () => { toggle(); if (state.view === "home") renderHistory(); });
  for (const b of document.querySelectorAll("button.back")) b.addEventListener("click", goHome);
  if (!keys.supported()) return show("unsupported");
  try {
    state.chainId = (await api.get("/v1/status")).chain_id;
  } catch {
    fail(t("offline"));
  }
  try {
    state.key = await keys.load();
  } catch {
    state.key = null;
  }
  if (!state.key) return show("setup");
  goHome();
  goLive();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
}

async function createKey() {
  $("create-key").disabled = true;
  try {
    state.key = await keys.generate();
    await keys.save(state.key);
  } catch (e) {
    $("create-key").disabled = false;
    return show("unsupported");
  }
  goHome();
  goLive();
}

async function restoreKey() {
  const file = $("restore-file").files[0];
  if (!file) return fail(t("bad_backup"));
  try {
    state.key = await keys.importBackup(await file.text(), $("restore-pass").value);
    await keys.save(state.key);
  } catch (e) {
    return fail(t(e.message === "wrong_passphrase" ? "wrong_passphrase" : "bad_backup"));
  }
  goHome();
  goLive();
}

let unsubscribe = null;
function goLive() {
  if (unsubscribe) return;
  unsubscribe = api.onBlocks(onBlock);
  $("live").classList.add("on");
}

// ---------- home ----------

function goHome() {
  show("home");
  $("my-address").textContent = state.key.address;
  refresh();
}

async function refresh() {
  const address = state.key.address;
  try {
    state.account = await api.get(`/v1/accounts/${address}`);
  } catch (e) {
    if (e.code === "unknown_account") state.account = null;
    else return fail(t("offline"));
  }
  const registered = !!state.account;
  $("register-card").hidden = registered;
  if (!registered) $("register-qr").src = qrUrl(address);
  $("balance").textContent = registered ? rupiah(state.account.balance) : "—";
  $("balance").dataset.value = registered ? String(state.account.balance) : "";
  $("home-coop").textContent = registered ? coopName(state.account.home) : "—";
  $("nav-pay").disabled = $("nav-cashout").disabled = !registered;
  state.history = [];
  if (registered) {
    try {
      state.history = (await api.get(`/v1/accounts/${address}/history?limit=10`)).items ?? [];
    } catch { /* keep the balance */ }
  }
  renderHistory();
  if (!state.coops.length) loadCoops().then(() => { if (state.account) $("home-coop").textContent = coopName(state.account.home); });
}

function renderHistory() {
  const list = $("history");
  list.replaceChildren();
  if (!state.history?.length) return list.append(el("li", { class: "muted" }, t("no_history")));
  for (const item of state.history) {
    const out = item.signer === state.key.address && item.kind !== "register_member";
    const ok = item.result?.code === "ok";
    const who = out ? item.to : item.signer;
    list.append(
      el("li", {},
        el("div", {},
          el("div", {}, t(`kind_${item.kind}`), " ", ok ? "" : el("span", { class: "pill bad" }, reason(item.result?.code))),
          el("div", { class: "muted mono" }, who ? short(who, 14) : "", " · #", item.height)),
        item.amount != null ? el("div", { class: out ? "amount-out" : "amount-in" }, out ? "−" : "+", rupiah(item.amount)) : ""),
    );
  }
}

async function loadCoops() {
  try {
    state.coops = (await api.get("/v1/cooperatives")).cooperatives ?? [];
  } catch { state.coops = []; }
}

function coopName(id) {
  const c = state.coops.find((c) => c.id === id);
  return c ? `${c.name} (${id})` : id;
}

function onBlock(block) {
  const me = state.key?.address;
  const mine = block.txs?.some((tx) => tx.signer === me || tx.to === me);
  if (state.pending && block.txs?.some((tx) => tx.hash === state.pending.hash)) checkPending();
  if (mine && state.view === "home") refresh();
}

// ---------- pay ----------

function goPay() {
  show("pay");
  $("pay-merchant").textContent = "";
}

/** An address, or an EMVCo payload with kopnet's template. */
function readPayee(text) {
  const v = text.trim();
  if (isAddress(v)) return { to: v };
  try {
    const r = qris.parse(v);
    return { to: r.to, amount: r.amount, name: r.name, city: r.city, reference: r.reference };
  } catch {
    return null;
  }
}

function onPayeeInput() {
  const p = readPayee($("pay-to").value);
  $("pay-merchant").textContent = p?.name ? `${p.name}, ${p.city}${p.reference ? ` · ${p.reference}` : ""}` : "";
  if (p?.amount) $("pay-amount").value = rupiah(p.amount).replace("Rp", "");
  if (p?.reference && !$("pay-memo").value) $("pay-memo").value = p.reference;
}

async function scan() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return fail(t("scan_unavailable"));
  const video = $("scanner");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch {
    return fail(t("scan_unavailable"));
  }
  const detector = new BarcodeDetector({ formats: ["qr_code"] });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const stop = () => { stream.getTracks().forEach((tr) => tr.stop()); video.hidden = true; };
  const deadline = Date.now() + 60000;
  const tick = async () => {
    if (state.view !== "pay" || Date.now() > deadline) return stop();
    try {
      const codes = await detector.detect(video);
      if (codes.length) {
        $("pay-to").value = codes[0].rawValue;
        onPayeeInput();
        return stop();
      }
    } catch { /* try the next frame */ }
    setTimeout(tick, 250);
  };
  tick();
}

function randomId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)));
}

async function payNext() {
  const payee = readPayee($("pay-to").value);
  if (!payee) return fail(t("bad_address"));
  const amount = parseRupiah($("pay-amount").value);
  if (!amount) return fail(t("bad_amount"));
  const memo = $("pay-memo").value.trim().slice(0, 64);
  const action = { Payment: { to: payee.to, amount, memo, idempotency_id: randomId() } };
  await confirmScreen(action, (q) => [
    [t("to"), payee.name ? `${payee.name} · ${short(payee.to, 12)}` : short(payee.to, 16), "confirm-to"],
    [t("amount"), rupiah(amount), "confirm-amount"],
    ...(memo ? [[t("memo"), memo, "confirm-memo"]] : []),
    [t("fee"), money(q.fees), "confirm-fee"],
    [t("payee_receives"), q.fees == null ? "—" : rupiah(q.payee_receives ?? amount), "confirm-payee"],
    [t("total"), q.fees == null ? "—" : rupiah(amount + q.fees), "confirm-total"],
  ]);
}

// ---------- cash-out ----------

async function goCashOut() {
  show("cashout");
  if (!state.coops.length) await loadCoops();
  const select = $("co-agent");
  select.replaceChildren(
    ...state.coops.filter((c) => c.active !== false && c.id !== "network")
      .map((c) => el("option", { value: c.id, selected: c.id === state.account?.home }, `${c.name} (${c.id})`)),
  );
}

async function cashOutNext() {
  const agent = $("co-agent").value;
  const amount = parseRupiah($("co-amount").value);
  if (!amount) return fail(t("bad_amount"));
  await confirmScreen({ CashOut: { agent, amount } }, (q) => [
    [t("agent"), coopName(agent), "confirm-agent"],
    [t("cash_you_get"), rupiah(amount), "confirm-amount"],
    [t("fee"), money(q.fees), "confirm-fee"],
    [t("total"), q.fees == null ? "—" : rupiah(amount + q.fees), "confirm-total"],
  ]);
}

// ---------- confirm, sign, submit, watch ----------

const money = (v) => (v == null ? "—" : rupiah(v));

async function confirmScreen(action, rows) {
  // Never show a previous confirmation while the new quote is on its way.
  $("confirm-details").replaceChildren();
  $("tx-status").hidden = true;
  delete $("tx-status").dataset.state;
  delete $("tx-status").dataset.hash;
  let quote;
  try {
    quote = await api.post("/v1/quote", { signer: state.key.address, action });
  } catch (e) {
    return fail(reason(e.code, e.message));
  }
  show("confirm");
  state.action = action;
  const details = $("confirm-details");
  details.replaceChildren();
  for (const [k, v, id] of rows(quote.ok ? quote : {})) {
    details.append(el("dt", {}, k), el("dd", { id, class: id === "confirm-total" ? "total" : "" }, v));
  }
  $("confirm-error").hidden = quote.ok;
  if (!quote.ok) $("confirm-error").textContent = reason(quote.result?.code, quote.result?.message);
  $("confirm-go").disabled = !quote.ok;
  $("confirm-buttons").hidden = false;
  $("tx-status").hidden = true;
  $("confirm-done").hidden = true;
}

async function submit() {
  $("confirm-go").disabled = true;
  setStatus("pending", t("sending"));
  try {
    if (!state.chainId) state.chainId = (await api.get("/v1/status")).chain_id;
    const account = await api.get(`/v1/accounts/${state.key.address}`);
    const body = encodeBody({ chain_id: state.chainId, signer: state.key.address, nonce: account.next_nonce, action: state.action });
    const signature = await keys.sign(state.key, signingBytes(body));
    const res = await api.post("/v1/tx", { tx: toBase64(encodeTx(body, signature)) });
    state.pending = { hash: res.hash, deadline: Date.now() + 60000 };
    $("confirm-buttons").hidden = true;
    setStatus("pending", t("pending"));
    pollPending();
  } catch (e) {
    setStatus("rejected", t("rejected", { reason: reason(e.code, e.message) }));
    $("confirm-go").disabled = false;
  }
}

function setStatus(stateName, text) {
  const s = $("tx-status");
  s.hidden = false;
  s.dataset.state = stateName;
  s.textContent = text;
}

async function checkPending() {
  const p = state.pending;
  if (!p) return true;
  let r;
  try { r = await api.get(`/v1/tx/${p.hash}`); } catch { r = null; }
  if (r?.status === "committed") {
    state.pending = null;
    if (r.result?.code === "ok") setStatus("committed", t("committed", { height: r.height }));
    else setStatus("rejected", t("rejected", { reason: reason(r.result?.code, r.result?.message) }));
  } else if (r?.status === "rejected") {
    state.pending = null;
    setStatus("rejected", t("rejected", { reason: reason(r.result?.code) }));
  } else if (Date.now() > p.deadline) {
    state.pending = null;
    setStatus("rejected", t("rejected", { reason: reason("timeout") }));
  }
  if (!state.pending) {
    $("tx-status").dataset.hash = p.hash;
    $("confirm-done").hidden = false;
    return true;
  }
  return false;
}

async function pollPending() {
  if (!(await checkPending())) setTimeout(pollPending, 400);
}

// ---------- receive ----------

function makeRequest() {
  const amountText = $("rc-amount").value.trim();
  const amount = amountText ? parseRupiah(amountText) : null;
  if (amountText && !amount) return fail(t("bad_amount"));
  const ascii = (s, n, d) => (s.replace(/[^\x20-\x7e]/g, "").trim().slice(0, n) || d);
  try {
    const payload = qris.encode({
      to: state.key.address,
      amount,
      name: ascii($("rc-name").value, 25, "KOPNET"),
      city: ascii($("rc-city").value, 15, "INDONESIA"),
      mcc: "0000",
      reference: ascii($("rc-ref").value, 25, "") || null,
    });
    $("rc-qr").src = qrUrl(payload);
    $("rc-qr").hidden = false;
    $("rc-payload").textContent = payload;
  } catch (e) {
    fail(String(e.message));
  }
}

// ---------- backup ----------

async function exportBackup() {
  const pass = $("backup-pass").value;
  if (pass.length < 8) return fail(t("passphrase_short"));
  $("backup-export").disabled = true;
  try {
    const text = await keys.exportBackup(state.key, pass);
    const a = el("a", {
      href: URL.createObjectURL(new Blob([text], { type: "application/json" })),
      download: `kopnet-wallet-${state.key.address.slice(0, 11)}.json`,
    });
    document.body.append(a);
    a.click();
    a.remove();
    $("backup-msg").textContent = t("backup_saved");
  } finally {
    $("backup-export").disabled = false;
  }
}

async function forget() {
  if (!confirm(t("forget_confirm"))) return;
  await keys.forget();
  location.reload();
}

// ---------- wiring ----------

$("create-key").addEventListener("click", createKey);
$("restore-go").addEventListener("click", restoreKey);
$("nav-pay").addEventListener("click", goPay);
$("nav-receive").addEventListener("click", () => show("receive"));
$("nav-cashout").addEventListener("click", goCashOut);
$("nav-backup").addEventListener("click", () => show("backup"));
$("pay-to").addEventListener("input", onPayeeInput);
$("pay-scan").addEventListener("click", scan);
$("pay-next").addEventListener("click", payNext);
$("co-next").addEventListener("click", cashOutNext);
$("confirm-go").addEventListener("click", submit);
$("confirm-done").addEventListener("click", goHome);
$("rc-make").addEventListener("click", makeRequest);
$("backup-export").addEventListener("click", exportBackup);
$("forget").addEventListener("click", forget);
$("copy-address").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText(state.key.address); $("copy-address").textContent = t("copied"); } catch { /* no clipboard */ }
});
$("show-qr").addEventListener("click", () => {
  $("my-qr").src = qrUrl(state.key.address);
  $("my-qr").hidden = !$("my-qr").hidden;
});
start();
