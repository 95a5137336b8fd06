// The phone wallet. Keys stay here: the page makes an Ed25519 key and its
// encrypted backup together, keeps the key as a non-extractable WebCrypto
// key in IndexedDB (keys.js), encodes transactions with codec.js (the
// ledger's exact bytes) and signs them locally; the node only sees signed
// transactions. A PIN guards payments above a threshold (guard.js); the
// payee's name comes from the ledger (payee.js). The home screen shows the
// account's KYC tier and what it may still receive this month, and the
// payment requests addressed to it (pay or decline, one tap each) and the
// ones it made; the confirm screen shows who receives the fee. Every screen
// is a <section data-view>.
import * as api from "./api.js";
import { isAddress } from "./address.js";
import { encodeBody, encodeTx, fromHex, MAX_MEMO_BYTES, signingBytes, toBase64 } from "./codec.js";
import { el, parseRupiah, rupiah, short } from "./format.js";
import * as guard from "./guard.js";
import { apply, lang, reason, t, toggle } from "./i18n.js";
import * as keys from "./keys.js";
import * as payee from "./payee.js";
import * as qris from "./qris.js";

const $ = (id) => document.getElementById(id);
const state = {
  key: null, accountAddress: null, accountFor: null, chainId: null, account: null, coops: [], pending: null, view: null,
  requests: { to_pay: [], requested: [] },
  /** Ledger names of requesters (merchants' public names; null for none). */
  names: new Map(),
};

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
  $("lang").addEventListener("click", () => { toggle(); if (state.view === "home") renderHome(); });
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
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  if (!state.key.backup || !(await guard.isPinSet())) return goSecure();
  goHome();
  goLive();
}

/** A new key: its backup passphrase (twice) and the payment PIN first; the
 * encrypted backup is made with the key and downloaded at once. */
async function createKey() {
  const pass = $("setup-pass").value;
  const pin = $("setup-pin").value;
  if (pass.length < 8) return fail(t("passphrase_short"));
  if (pass !== $("setup-pass2").value) return fail(t("passphrase_mismatch"));
  if (!guard.validPin(pin)) return fail(t("pin_bad"));
  $("create-key").disabled = true;
  try {
    const key = await keys.create(pass);
    await guard.setPin(pin);
    await keys.save(key);
    state.key = key;
  } catch {
    $("create-key").disabled = false;
    return show("unsupported");
  }
  downloadBackup();
  goHome();
  goLive();
}

async function restoreKey() {
  const file = $("restore-file").files[0];
  if (!file) return fail(t("bad_backup"));
  const pin = $("restore-pin").value;
  if (!guard.validPin(pin)) return fail(t("pin_bad"));
  try {
    state.key = await keys.importBackup(await file.text(), $("restore-pass").value);
  } catch (e) {
    return fail(t(e.message === "wrong_passphrase" ? "wrong_passphrase" : "bad_backup"));
  }
  await guard.setPin(pin);
  await keys.save(state.key);
  goHome();
  goLive();
}

/** A wallet made before the PIN and the backup-at-creation: set them once
 * (the key is made non-extractable on the way, see keys.migrate). */
function goSecure() {
  show("secure");
  $("secure-pass").hidden = $("secure-pass").labels[0].hidden = !!state.key.backup;
}

async function secureWallet() {
  const pin = $("secure-pin").value;
  if (!guard.validPin(pin)) return fail(t("pin_bad"));
  $("secure-go").disabled = true;
  try {
    if (!state.key.backup) {
      const pass = $("secure-pass").value;
      if (pass.length < 8) return fail(t("passphrase_short"));
      state.key = await keys.migrate(state.key, pass);
      await keys.save(state.key);
      downloadBackup();
    }
    await guard.setPin(pin);
  } catch (e) {
    return fail(String(e.message ?? e));
  } finally {
    $("secure-go").disabled = false;
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
  $("my-address").textContent = accountAddress();
  refresh();
}

/** The address of the account this phone's key signs for. An account's
 * address never changes, but after a rotation or a recovery (a lost phone)
 * it is not this key's own address: the ledger says which account a key
 * signs for (`GET /v1/signers/{key}`). Payments to this member go to the
 * account address, so that is what the home screen and the receive QR show. */
function accountAddress() {
  const known = state.accountAddress && state.accountFor === state.key.address;
  return known ? state.accountAddress : state.key.address;
}

async function resolveAccount() {
  try {
    const signer = await api.getAs(state.key, state.chainId, `/v1/signers/${state.key.address}`);
    state.accountFor = state.key.address;
    state.accountAddress = signer.role === "member" && signer.account ? signer.account : state.key.address;
  } catch (e) {
    // Not registered yet (`unknown_signer`) or replaced (`key_replaced`:
    // the account at this key's address then warns that its key changed).
    if (e.code !== "unknown_signer" && e.code !== "key_replaced") throw e;
    state.accountFor = state.key.address;
    state.accountAddress = state.key.address;
  }
  $("my-address").textContent = accountAddress();
}

async function refresh() {
  try {
    await resolveAccount();
  } catch {
    return fail(t("offline"));
  }
  const address = accountAddress();
  try {
    state.account = await api.getAs(state.key, state.chainId, `/v1/accounts/${address}`);
  } catch (e) {
    if (e.code === "unknown_account") state.account = null;
    else return fail(t("offline"));
  }
  const registered = !!state.account;
  $("register-card").hidden = registered;
  if (!registered) $("register-qr").src = qrUrl(address);
  $("balance").textContent = registered ? rupiah(state.account.balance) : "—";
  $("balance").dataset.value = registered ? String(state.account.balance) : "";
  const lost = keyWarning() === "rotated";
  $("nav-pay").disabled = !registered || lost;
  $("nav-cashout").disabled = !registered || lost || state.account.may_cash_out === false;
  state.history = [];
  state.prunedBefore = null;
  state.requests = { to_pay: [], requested: [] };
  if (registered) {
    try {
      const page = await api.getAs(state.key, state.chainId, `/v1/accounts/${address}/history?limit=10`);
      state.history = page.items ?? [];
      // A pruning node: older history is on archive nodes.
      state.prunedBefore = Number.isSafeInteger(page.pruned_before) ? page.pruned_before : null;
    } catch { /* keep the balance */ }
    try {
      const r = await api.getAs(state.key, state.chainId, `/v1/accounts/${address}/requests`);
      state.requests = { to_pay: readRequests(r?.to_pay), requested: readRequests(r?.requested) };
      await learnNames(state.requests.to_pay.map((q) => q.requester));
    } catch { /* keep the balance */ }
  }
  renderHome();
  if (!state.coops.length) loadCoops().then(renderHome);
}

function renderHome() {
  $("home-coop").textContent = state.account ? coopName(state.account.home) : "—";
  renderTier();
  renderRequests();
  renderHistory();
}

const TIERS = ["basic", "registered", "business"];

/** The account's KYC tier in words and what it may still receive this
 * month (`monthly_headroom`; null: the tier has no monthly limit); for a
 * basic (unregistered) account, that it pays merchants only and where to
 * register. */
function renderTier() {
  const a = state.account;
  const tier = TIERS.includes(a?.tier) ? a.tier : null;
  $("tier").textContent = tier ? t(`tier_word_${tier}`) : "—";
  $("tier").dataset.tier = tier ?? "";
  const headroom = a?.monthly_headroom;
  const known = Number.isSafeInteger(headroom) && headroom >= 0;
  $("headroom").textContent = known ? t("headroom", { amount: rupiah(headroom) })
    : a && a.monthly_incoming_cap === null ? t("headroom_none") : "";
  $("headroom").dataset.value = known ? String(headroom) : "";
  $("basic-note").hidden = tier !== "basic";
  $("basic-note").textContent = tier === "basic" ? t("basic_note", { coop: coopName(a.home) }) : "";
}

// ---------- payment requests ----------

const REQUEST_STATUSES = ["open", "paid", "declined", "cancelled", "expired"];
/** How long a request the wallet makes stays open (the ledger allows 7 days). */
const REQUEST_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** A request from `GET /v1/accounts/{a}/requests`, checked field by field;
 * null when anything is off (it is then not shown). */
function readRequest(r) {
  if (!r || typeof r !== "object" || !isAddress(String(r.requester)) || !/^[0-9a-f]{32}$/.test(String(r.id))) return null;
  if (!Number.isSafeInteger(r.amount) || r.amount <= 0 || !Number.isSafeInteger(r.expires_at_ms)) return null;
  if (!REQUEST_STATUSES.includes(r.status)) return null;
  return {
    requester: r.requester, id: r.id, amount: r.amount, expires_at_ms: r.expires_at_ms, status: r.status,
    reference: typeof r.reference === "string" ? r.reference : "",
    payer: typeof r.payer === "string" && isAddress(r.payer) ? r.payer : null,
  };
}

const readRequests = (list) => (Array.isArray(list) ? list.map(readRequest).filter(Boolean) : []);

/** Most names remembered (the ledger keeps at most 64 open requests per payer). */
const NAMES_MAX = 64;

/** The ledger's names of `addresses` not known yet (a merchant's public
 * name; a member has none), so a request says who asks. */
async function learnNames(addresses) {
  const unknown = [...new Set(addresses)].filter((a) => !state.names.has(a)).slice(0, NAMES_MAX);
  if (state.names.size + unknown.length > NAMES_MAX) state.names.clear();
  await Promise.all(unknown.map(async (a) => {
    try { state.names.set(a, (await payee.describe(a)).name); } catch { /* shown by address */ }
  }));
}

/** Requests addressed to this account that it can still pay (one tap: the
 * confirm screen) or decline (one tap: signed and sent at once); then the
 * requests it made, with their outcome. */
function renderRequests() {
  const open = state.requests.to_pay.filter((r) => r.status === "open");
  $("requests-card").hidden = !open.length;
  $("requests").replaceChildren(...open.map((r) => el("li", { "data-request": r.id },
    el("div", {},
      el("div", {}, el("strong", { class: "amount" }, rupiah(r.amount)), r.reference ? ` · ${r.reference}` : ""),
      state.names.get(r.requester) ? el("div", { class: "requester" }, state.names.get(r.requester)) : "",
      el("div", { class: "muted mono" }, short(r.requester, 14)),
      el("div", { class: "muted" }, t("valid_until", { when: wib(r.expires_at_ms) }))),
    el("div", { class: "req-actions" },
      el("button", { class: "small primary approve", onclick: () => approveRequest(r) }, t("approve")),
      el("button", { class: "small decline", onclick: (e) => declineRequest(r, e.currentTarget) }, t("decline"))))));
  const mine = state.requests.requested;
  $("requested-card").hidden = !mine.length;
  $("requested").replaceChildren(...mine.map((r) => el("li", { "data-request": r.id, "data-status": r.status },
    el("div", {},
      el("div", {}, el("span", { class: "amount" }, rupiah(r.amount)), r.reference ? ` · ${r.reference}` : ""),
      el("div", { class: "muted mono" }, r.payer ? short(r.payer, 14) : "QR")),
    el("div", { class: "req-actions" },
      el("span", { class: `pill ${r.status === "paid" ? "ok" : r.status === "open" ? "" : "bad"}` }, t(`req_status_${r.status}`)),
      r.status === "open" ? el("button", { class: "small cancel", onclick: (e) => cancelRequest(r, e.currentTarget) }, t("cancel")) : ""))));
}

/** Pay a request: the confirm screen (and PIN) of a payment, signing
 * `PayRequest` with the amount requested. */
async function approveRequest(r) {
  resetConfirm();
  let who;
  try {
    who = await payee.describe(r.requester);
  } catch (e) {
    return fail(reason(e.code, e.message));
  }
  if (!state.coops.length) await loadCoops();
  const action = { PayRequest: { requester: r.requester, id: Array.from(fromHex(r.id)), amount: r.amount } };
  await confirmScreen(action, (q) => [
    [t("pay_request_title"), who.name ? `${who.name} · ${short(r.requester, 12)}` : short(r.requester, 16), "confirm-to"],
    ["", who.home ? t(who.verified ? "name_verified" : "payee_home", { coop: coopName(who.home) }) : t("payee_private"), "confirm-to-note"],
    [t("amount"), rupiah(r.amount), "confirm-amount"],
    ...(r.reference ? [[t("reference"), r.reference, "confirm-memo"]] : []),
    ...paymentRows(q, r.amount, who),
  ], { amount: r.amount });
}

/** Decline a request: signed and sent at once (no money moves); the list
 * loses it when the block that records it arrives. */
async function declineRequest(r, button) {
  button.disabled = true;
  button.textContent = t("declining");
  try {
    follow(await signAndSend({ DeclineRequest: { requester: r.requester, id: Array.from(fromHex(r.id)) } }));
  } catch (e) {
    button.disabled = false;
    button.textContent = t("decline");
    fail(t("rejected", { reason: reason(e.code, e.message) }));
  }
}

/** Cancel one of this account's open requests: signed and sent at once. */
async function cancelRequest(r, button) {
  button.disabled = true;
  try {
    follow(await signAndSend({ CancelRequest: { id: Array.from(fromHex(r.id)) } }));
  } catch (e) {
    button.disabled = false;
    fail(t("rejected", { reason: reason(e.code, e.message) }));
  }
}

/** Follow a transaction sent without the confirm screen until the network
 * decides: a refusal is shown in words; either way the home screen reads
 * the account again. */
async function follow(hash, deadline = Date.now() + 60000) {
  let r = null;
  try { r = await api.get(`/v1/tx/${hash}`); } catch { /* ask again */ }
  const decided = r?.status === "committed" || r?.status === "rejected";
  if (!decided && Date.now() < deadline) return setTimeout(() => follow(hash, deadline), 400);
  const code = decided ? r.result?.code : "timeout";
  if (code !== "ok") fail(t("rejected", { reason: reason(code, r?.result?.message) }));
  if (state.view === "home") refresh();
}

/** Ask a member (by address) for the amount on the receive screen: a
 * `RequestPayment` that stays open for 24 hours of block time. */
async function sendRequest() {
  const payerText = $("rc-payer").value.trim();
  const phone = isAddress(payerText) ? null : qris.phoneAlias(payerText);
  if (!isAddress(payerText) && !phone) return fail(t("bad_address"));
  const amount = parseRupiah($("rc-amount").value);
  if (!amount) return fail(t("request_needs_amount"));
  // A phone number is looked up; the request on the ledger names the
  // address (a phone number is never on the ledger).
  let payer = payerText;
  let payerName = null;
  if (phone) {
    try {
      const found = await lookupPhone(phone);
      if (!isAddress(String(found?.address))) return fail(t("bad_address"));
      payer = found.address;
      payerName = `${found.masked_name} · ${phone}`;
    } catch (e) {
      return fail(reason(e.code, e.message));
    }
  }
  const chars = Array.from($("rc-ref").value.trim());
  while (new TextEncoder().encode(chars.join("")).length > MAX_MEMO_BYTES) chars.pop();
  const reference = chars.join("");
  const expires = Date.now() + REQUEST_LIFETIME_MS;
  const action = { RequestPayment: { id: randomId(), payer, amount, reference, expires_at_ms: expires } };
  await confirmScreen(action, () => [
    [t("request_to"), payerName ? `${payerName} · ${short(payer, 12)}` : short(payer, 16), "confirm-to"],
    [t("amount"), rupiah(amount), "confirm-amount"],
    ...(reference ? [[t("reference"), reference, "confirm-memo"]] : []),
    [t("request_expires"), wib(expires), "confirm-expires"],
  ]);
}

const wib = (ms) =>
  `${new Date(ms).toLocaleString(lang === "id" ? "id-ID" : "en-GB", { timeZone: "Asia/Jakarta", dateStyle: "medium", timeStyle: "short" })} WIB`;

/** A key rotation or recovery of this account started elsewhere, from the
 * account's `key` (its current key) and `recovery` (a pending recovery:
 * `{new_key, effective_at_ms, started_by}`); both are absent on a node
 * without key rotation. Returns "rotated", "recovery" or null. */
function keyWarning() {
  const a = state.account;
  const box = $("key-warning");
  let kind = null;
  let text = "";
  if (a?.key && a.key !== state.key.address) {
    kind = "rotated";
    text = t("warn_key_rotated", { key: short(a.key, 14) });
  } else if (a?.recovery && a.recovery.new_key !== state.key.address) {
    kind = "recovery";
    const by = a.recovery.started_by;
    text = t("warn_recovery", {
      key: short(String(a.recovery.new_key ?? "?"), 14),
      when: Number.isSafeInteger(a.recovery.effective_at_ms) ? wib(a.recovery.effective_at_ms) : "?",
      by: coopName(typeof by === "string" ? by : by?.cooperative ?? by?.id ?? JSON.stringify(by ?? "?")),
    });
  }
  box.hidden = !kind;
  box.textContent = text;
  if (kind) box.dataset.kind = kind;
  else delete box.dataset.kind;
  return kind;
}

/** The payment (its transaction hash) a refund in the history gives money
 * back from, or null. */
function refundOf(item) {
  const hash = item.kind === "refund" ? item.action?.Refund?.payment : null;
  return typeof hash === "string" && /^[0-9a-f]{64}$/.test(hash) ? hash : null;
}

function renderHistory() {
  const list = $("history");
  list.replaceChildren();
  const pruned = state.prunedBefore != null
    ? el("li", { class: "muted", "data-field": "pruned-history" }, t("pruned_history", { base: state.prunedBefore })) : null;
  if (!state.history?.length) return list.append(pruned ?? el("li", { class: "muted" }, t("no_history")));
  // What the refunds listed gave back of each payment.
  const refunded = new Map();
  for (const item of state.history) {
    const payment = refundOf(item);
    if (payment && item.result?.code === "ok" && Number.isSafeInteger(item.amount)) {
      refunded.set(payment, (refunded.get(payment) ?? 0) + item.amount);
    }
  }
  for (const item of state.history) {
    const out = (item.signer === state.key.address || item.signer === accountAddress()) && item.kind !== "register_member";
    const ok = item.result?.code === "ok";
    const who = out ? item.to : item.signer;
    // A request moves no money: its amount is shown without a sign.
    const asked = item.kind === "request_payment";
    const amount = item.amount == null ? ""
      : asked ? el("div", { class: "muted" }, rupiah(item.amount))
        : el("div", { class: out ? "amount-out" : "amount-in" }, out ? "−" : "+", rupiah(item.amount));
    // A refund links to its payment; a payment says what was refunded of it.
    const payment = refundOf(item);
    const back = refunded.get(item.hash);
    list.append(
      el("li", { "data-tx": String(item.hash ?? ""), "data-kind": String(item.kind ?? "") },
        el("div", {},
          el("div", {}, t(`kind_${item.kind}`), " ", ok ? "" : el("span", { class: "pill bad" }, reason(item.result?.code))),
          el("div", { class: "muted mono" }, who ? `${short(who, 14)} · ` : "", "#", item.height),
          payment ? el("div", { class: "muted" }, t("refund_of"), " ",
            el("a", { class: "mono refund-of", href: `/explorer#/tx/${payment}` }, short(payment, 12))) : "",
          back ? el("div", { class: "muted refunded" }, t("refunded", { amount: rupiah(back) })) : ""),
        amount),
    );
  }
  if (pruned) list.append(pruned);
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
  const account = state.key ? accountAddress() : undefined;
  // A refund names its payment, not the payer: any refund may be ours.
  // A member is shown no one's transactions in the stream (the node's
  // api::access): without them, every block may be ours, so look.
  const mine = !block.txs ? block.tx_count > 0 : block.txs.some((tx) => tx.signer === me || tx.to === me || tx.to === account || tx.kind === "refund");
  if (state.pending && (!block.txs ? block.tx_count > 0 : block.txs.some((tx) => tx.hash === state.pending.hash))) checkPending();
  if (mine && state.view === "home") refresh();
}

// ---------- pay ----------

function goPay() {
  show("pay");
  $("pay-merchant").textContent = "";
}

/** An address, a phone number ({phone}: looked up before paying), or an
 * EMVCo payload with kopnet's template (naming an address or a phone). */
function readPayee(text) {
  const v = text.trim();
  if (isAddress(v)) return { to: v };
  const phone = qris.phoneAlias(v);
  if (phone) return { phone };
  try {
    const r = qris.parse(v);
    return { to: r.to, phone: r.phone, amount: r.amount, name: r.name, city: r.city, reference: r.reference };
  } catch {
    return null;
  }
}

/** Whose `phone` is: {address, masked_name, cooperative}, asked at this
 * wallet's own node, which asks the member's home node (signed: lookups
 * are per member wallet and rate-limited; the full name never leaves the
 * home node). */
const lookupPhone = (phone) => api.postAs(state.key, state.chainId, "/v1/directory/lookup", { phone });

function onPayeeInput() {
  const text = $("pay-to").value.trim();
  const p = readPayee(text);
  // What the QR says, labelled as such: the confirm screen shows the
  // ledger's name. A code the parser refuses says why.
  let why = "";
  if (!p && text && !isAddress(text)) {
    try { qris.parse(text); } catch (e) { why = t("qr_refused", { why: t(`qr_${e.kind}`) }); }
  }
  $("pay-merchant").textContent = p?.name ? `QR: ${p.name}, ${p.city}${p.reference ? ` · ${p.reference}` : ""}${p.phone ? ` · ${p.phone}` : ""}`
    : p?.phone ? t("phone_looked_up", { phone: p.phone }) : why;
  $("pay-merchant").dataset.state = why ? "refused" : p ? "ok" : "";
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
  resetConfirm();
  const text = $("pay-to").value.trim();
  const p = readPayee(text);
  if (!p) {
    if (isAddress(text)) return fail(t("bad_address"));
    try { qris.parse(text); } catch (e) { if (e.kind !== "not_kopnet") return fail(t("qr_refused", { why: t(`qr_${e.kind}`) })); }
    return fail(t("bad_address"));
  }
  const amount = parseRupiah($("pay-amount").value);
  if (!amount) return fail(t("bad_amount"));
  const memo = $("pay-memo").value.trim().slice(0, 64);
  let who;
  let to = p.to;
  let byPhone = null;
  try {
    // A phone alias is paid at the address the directory gives.
    if (p.phone) {
      byPhone = await lookupPhone(p.phone);
      if (!isAddress(String(byPhone?.address))) return fail(t("bad_address"));
      to = byPhone.address;
    }
    who = await payee.describe(to, p.name);
  } catch (e) {
    return fail(reason(e.code, e.message));
  }
  if (byPhone && !who.verified) {
    // The directory's masked name ("Sri W***") and cooperative, not the QR's.
    who = { ...who, name: String(byPhone.masked_name ?? ""), mismatch: null, home: who.home ?? String(byPhone.cooperative ?? "") };
  }
  if (!state.coops.length) await loadCoops();
  const home = coopName(who.home);
  const note = byPhone && !who.verified ? t("name_directory", { phone: p.phone, coop: home })
    : !who.home ? (who.name ? `${t("name_unverified_private")}` : t("payee_private"))
    : who.verified ? t("name_verified", { coop: home })
    : who.name ? t("name_unverified", { coop: home }) : t("payee_home", { coop: home });
  const action = { Payment: { to, amount, memo, idempotency_id: randomId() } };
  const warning = who.mismatch ? t("name_mismatch", { qr: who.mismatch.qr, ledger: who.mismatch.ledger }) : null;
  await confirmScreen(action, (q) => [
    [t("to"), who.name ? `${who.name} · ${short(to, 12)}` : short(to, 16), "confirm-to"],
    ["", note, "confirm-to-note"],
    [t("amount"), rupiah(amount), "confirm-amount"],
    ...(memo ? [[t("memo"), memo, "confirm-memo"]] : []),
    ...paymentRows(q, amount, who),
  ], { amount, warning });
}

/** A payment's costs on the confirm screen: the payer's fee (none to a
 * merchant: the merchant pays the MDR out of its receipt), who receives
 * the fee (issuer = the payer's cooperative, acquirer = the payee's, the
 * network fund), what the payee receives, the total, and the cashback. */
function paymentRows(q, amount, who) {
  const home = state.account?.home;
  const role = (coop) => (coop === home && coop === who.home ? "both"
    : coop === home ? "issuer" : coop === who.home ? "acquirer" : null);
  const split = splitRows(q, role);
  return [
    [t("fee"), money(q.fees), "confirm-fee"],
    ...split,
    ...(who.kind === "merchant" && q.fees === 0 && split.length ? [["", t("mdr_note"), "confirm-mdr-note"]] : []),
    [t("payee_receives"), q.fees == null ? "—" : rupiah(Number.isSafeInteger(q.payee_receives) ? q.payee_receives : amount), "confirm-payee"],
    [t("total"), q.fees == null ? "—" : rupiah(amount + q.fees), "confirm-total"],
    ...cashbackRows(q),
  ];
}

/** The quote's `fee_split` as rows, each checked: "fee:COOP" (labelled by
 * `role(coop)`: issuer, acquirer, both, agent, home, or just the
 * cooperative, named under the amount) and "network-fund". */
function splitRows(q, role) {
  if (!Array.isArray(q.fee_split)) return [];
  const fee = (v, who) => el("span", {}, el("span", { class: "amount" }, rupiah(v)), who ? el("div", { class: "muted small" }, who) : "");
  return q.fee_split.flatMap((s) => {
    if (!Number.isSafeInteger(s?.fee) || s.fee <= 0 || typeof s.account !== "string") return [];
    if (s.account === "network-fund") return [[t("split_network"), fee(s.fee), "confirm-split-network"]];
    const m = /^fee:([a-z0-9-]{1,64})$/.exec(s.account);
    if (!m) return [];
    const r = role(m[1]);
    return [[t(`split_${r ?? "coop"}`), fee(s.fee, coopName(m[1])), `confirm-split-${r ?? m[1]}`]];
  });
}

const cashbackRows = (q) => (Number.isSafeInteger(q.cashback) && q.cashback > 0
  ? [[t("cashback"), `+${rupiah(q.cashback)}`, "confirm-cashback"]] : []);

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
    ...splitRows(q, (coop) => (coop === agent ? "agent" : coop === state.account?.home ? "home" : null)),
    [t("total"), q.fees == null ? "—" : rupiah(amount + q.fees), "confirm-total"],
  ], { amount });
}

// ---------- confirm, sign, submit, watch ----------

const money = (v) => (v == null ? "—" : rupiah(v));

/** Never show a previous confirmation while a new one is being prepared. */
function resetConfirm() {
  $("confirm-details").replaceChildren();
  $("confirm-name-warning").hidden = true;
  $("pin-row").hidden = true;
  $("confirm-pin").value = "";
  $("tx-status").hidden = true;
  delete $("tx-status").dataset.state;
  delete $("tx-status").dataset.hash;
}

/** `amount`: what leaves the wallet (the PIN is asked above the
 * threshold); `warning`: shown above the buttons (a name mismatch). */
async function confirmScreen(action, rows, { amount = null, warning = null } = {}) {
  resetConfirm();
  let quote;
  try {
    quote = await api.post("/v1/quote", { signer: state.key.address, action });
  } catch (e) {
    return fail(reason(e.code, e.message));
  }
  const pinNeeded = amount != null && (await guard.needsPin(amount));
  show("confirm");
  state.action = action;
  const details = $("confirm-details");
  details.replaceChildren();
  for (const [k, v, id] of rows(quote.ok ? quote : {})) {
    details.append(el("dt", {}, k), el("dd", { id, class: id === "confirm-total" ? "total" : id.endsWith("-note") ? "muted" : "" }, v));
  }
  $("confirm-name-warning").textContent = warning ?? "";
  $("confirm-name-warning").hidden = !warning;
  state.pinNeeded = pinNeeded;
  $("pin-row").hidden = !(quote.ok && state.pinNeeded);
  $("confirm-error").hidden = quote.ok;
  if (!quote.ok) $("confirm-error").textContent = reason(quote.result?.code, quote.result?.message);
  $("confirm-go").disabled = !quote.ok;
  $("confirm-buttons").hidden = false;
  $("tx-status").hidden = true;
  $("confirm-done").hidden = true;
}

/** The PIN, when the amount needs it; false (with the reason shown) if not given or wrong. */
async function pinGiven() {
  if (!state.pinNeeded) return true;
  const error = $("confirm-error");
  const pin = $("confirm-pin").value;
  let message = null;
  if (!pin) {
    message = t("pin_required");
  } else {
    const r = await guard.checkPin(pin);
    if (r.result === "locked") message = t("pin_locked", { when: wib(r.until_ms) });
    else if (r.result === "wrong") message = t("pin_wrong", { left: r.left });
    else if (r.result === "no_pin") message = t("pin_required");
  }
  error.hidden = !message;
  error.textContent = message ?? "";
  if (message) $("confirm-pin").focus();
  return !message;
}

async function submit() {
  $("confirm-go").disabled = true;
  if (!(await pinGiven())) {
    $("confirm-go").disabled = false;
    return;
  }
  $("pin-row").hidden = true;
  setStatus("pending", t("sending"));
  try {
    const hash = await signAndSend(state.action);
    state.pending = { hash, deadline: Date.now() + 60000 };
    $("confirm-buttons").hidden = true;
    setStatus("pending", t("pending"));
    pollPending();
  } catch (e) {
    setStatus("rejected", t("rejected", { reason: reason(e.code, e.message) }));
    $("confirm-go").disabled = false;
  }
}

/** Sign `action` with this phone's key at the account's next nonce and
 * send it; returns the transaction's hash. */
async function signAndSend(action) {
  if (!state.chainId) state.chainId = (await api.get("/v1/status")).chain_id;
  const account = await api.getAs(state.key, state.chainId, `/v1/accounts/${accountAddress()}`);
  const body = encodeBody({ chain_id: state.chainId, signer: state.key.address, nonce: account.next_nonce, action });
  const signature = await keys.sign(state.key, signingBytes(body));
  const res = await api.post("/v1/tx", { tx: toBase64(encodeTx(body, signature)) });
  if (typeof res?.hash !== "string" || !/^[0-9a-f]{64}$/.test(res.hash)) throw new Error("bad answer from the node");
  return res.hash;
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

/** The receive screen's QR code: this account by address, or by the phone
 * number it linked at its cooperative (checked first: the directory must
 * give this account's address for it). */
async function makeRequest() {
  const amountText = $("rc-amount").value.trim();
  const amount = amountText ? parseRupiah(amountText) : null;
  if (amountText && !amount) return fail(t("bad_amount"));
  const ascii = (s, n, d) => (s.replace(/[^\x20-\x7e]/g, "").trim().slice(0, n) || d);
  const phoneText = $("rc-phone").value.trim();
  let phone = null;
  if (phoneText) {
    phone = qris.phoneAlias(phoneText);
    if (!phone) return fail(t("bad_phone"));
    try {
      const owner = await lookupPhone(phone);
      if (owner?.address !== accountAddress()) return fail(t("phone_not_yours"));
    } catch (e) {
      return fail(e.code === "phone_not_found" ? t("phone_not_yours") : reason(e.code, e.message));
    }
  }
  try {
    const payload = qris.encode({
      ...(phone ? { phone } : { to: accountAddress() }),
      amount,
      name: ascii($("rc-name").value, 25, "KOPNET"),
      city: ascii($("rc-city").value, 15, "INDONESIA"),
      mcc: "0000",
      reference: ascii($("rc-ref").value, 25, "") || null,
    });
    $("error").hidden = true;
    $("rc-qr").src = qrUrl(payload);
    $("rc-qr").hidden = false;
    $("rc-payload").textContent = payload;
  } catch (e) {
    fail(String(e.message));
  }
}

// ---------- backup ----------

/** Download the encrypted backup made with the key (the key itself
 * cannot be exported: this file is the only way to move it). */
function downloadBackup() {
  const text = state.key?.backup;
  if (!text) return;
  const a = el("a", {
    href: URL.createObjectURL(new Blob([text], { type: "application/json" })),
    download: `kopnet-wallet-${state.key.address.slice(0, 11)}.json`,
  });
  document.body.append(a);
  a.click();
  a.remove();
}

async function goBackup() {
  show("backup");
  $("key-status").textContent = t(state.key.extractable ? "key_extractable" : "key_not_extractable");
  $("key-status").dataset.extractable = String(!!state.key.extractable);
  $("pin-threshold").value = rupiah(await guard.threshold()).replace("Rp", "");
  $("threshold-pin").value = "";
  $("threshold-msg").textContent = "";
  $("backup-msg").textContent = "";
}

function exportBackup() {
  if (!state.key.backup) return goSecure();
  downloadBackup();
  $("backup-msg").textContent = t("backup_saved");
}

async function saveThreshold() {
  const text = $("pin-threshold").value.trim();
  const amount = /^(rp\s*)?0+$/i.test(text) ? 0 : parseRupiah(text);
  if (amount == null) return fail(t("bad_amount"));
  const r = await guard.setThreshold(amount, $("threshold-pin").value);
  $("threshold-pin").value = "";
  const msg = $("threshold-msg");
  if (r.result === "ok") msg.textContent = t("threshold_saved", { amount: rupiah(amount) });
  else if (r.result === "locked") msg.textContent = t("pin_locked", { when: wib(r.until_ms) });
  else msg.textContent = t("pin_wrong", { left: r.left ?? 0 });
  msg.dataset.state = r.result;
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
$("nav-backup").addEventListener("click", goBackup);
$("secure-go").addEventListener("click", secureWallet);
$("threshold-save").addEventListener("click", saveThreshold);
$("pay-to").addEventListener("input", onPayeeInput);
$("pay-scan").addEventListener("click", scan);
$("pay-next").addEventListener("click", payNext);
$("co-next").addEventListener("click", cashOutNext);
$("confirm-go").addEventListener("click", submit);
$("confirm-done").addEventListener("click", goHome);
$("rc-make").addEventListener("click", makeRequest);
$("rc-request").addEventListener("click", sendRequest);
$("backup-export").addEventListener("click", exportBackup);
$("forget").addEventListener("click", forget);
$("copy-address").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText(accountAddress()); $("copy-address").textContent = t("copied"); } catch { /* no clipboard */ }
});
$("show-qr").addEventListener("click", () => {
  $("my-qr").src = qrUrl(accountAddress());
  $("my-qr").hidden = !$("my-qr").hidden;
});
start();
