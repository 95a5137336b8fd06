// node --test node/web/test/: every label the pages ask for exists in
// Bahasa Indonesia and in English, and the two tables have the same keys.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { STRINGS } from "../i18n.js";

const PAGES = ["explorer.js", "counter.js", "ui.js", "wallet.js"];
// Keys built at run time from a prefix and a value the API sends.
const DYNAMIC = [
  "role_validator", "role_observer",
  "status_pending", "status_committed", "status_rejected",
  "acct_member", "acct_merchant", "acct_active", "acct_frozen",
  "tier_basic", "tier_registered", "tier_business",
  "kind_payment", "kind_cash_in", "kind_cash_out",
  "qr_bad_length", "qr_bad_character", "qr_truncated", "qr_bad_header", "qr_duplicate_field",
  "qr_missing_crc", "qr_bad_crc", "qr_missing_field", "qr_bad_field", "qr_not_kopnet",
  "qr_bad_address", "qr_conflicting_field",
  "tier_word_basic", "tier_word_registered", "tier_word_business",
  "req_status_open", "req_status_paid", "req_status_declined", "req_status_cancelled", "req_status_expired",
  "split_issuer", "split_acquirer", "split_both", "split_agent", "split_home", "split_coop",
  "kind_request_payment", "kind_pay_request", "kind_decline_request", "kind_cancel_request",
  "kind_refund",
  "class_micro", "class_small", "class_medium", "class_large", "class_fuel", "class_public-service",
  "class_education", "class_government", "class_donation",
];

test("Indonesian and English have the same keys", () => {
  const id = Object.keys(STRINGS.id).sort();
  const en = Object.keys(STRINGS.en).sort();
  assert.deepEqual(id.filter((k) => !en.includes(k)), [], "missing in English");
  assert.deepEqual(en.filter((k) => !id.includes(k)), [], "missing in Indonesian");
});

test("every t(\"...\") and data-i18n key the pages use is translated", () => {
  const used = new Set(DYNAMIC);
  for (const page of PAGES) {
    const text = readFileSync(new URL(`../${page}`, import.meta.url), "utf8");
    for (const m of text.matchAll(/\bt\("([a-z0-9_]+)"/g)) used.add(m[1]);
  }
  for (const page of ["explorer.html", "wallet.html"]) {
    const text = readFileSync(new URL(`../${page}`, import.meta.url), "utf8");
    for (const m of text.matchAll(/data-i18n(?:-ph)?="([a-z0-9_]+)"/g)) used.add(m[1]);
  }
  assert.ok(used.size > 50, `only ${used.size} keys found: the scan is broken`);
  const missing = [...used].filter((k) => !(k in STRINGS.id) || !(k in STRINGS.en));
  assert.deepEqual(missing, []);
});

test("the network page's labels are Indonesian by default", () => {
  for (const key of ["role", "round", "syncing", "mempool", "commit_latency", "block_interval"]) {
    assert.notEqual(STRINGS.id[key].toLowerCase(), key, key);
    assert.notEqual(STRINGS.id[key], STRINGS.en[key], key);
  }
});
