// node --test node/web/test/: how the wallet compares a QR code's merchant
// name with the ledger's (payee.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { sameName } from "../payee.js";

test("names differing only in case and spacing are the same name", () => {
  assert.ok(sameName("Warung Bu Sri", "WARUNG  BU SRI"));
  assert.ok(sameName(" Warung Bu Sri ", "warung bu sri"));
});

test("a different name is a mismatch", () => {
  assert.ok(!sameName("Warung Bu Sri", "Warung Bu Sri 2"));
  assert.ok(!sameName("Warung Bu Sri", "Toko Emas Palsu"));
  assert.ok(!sameName("Warung Bu Sri", ""));
});
