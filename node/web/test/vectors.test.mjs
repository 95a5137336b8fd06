// node --test node/web/test/: the wallet's JavaScript against the vectors
// that node/src/web/vectors.rs generates from the Rust ledger.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runChecks } from "../selftest-core.js";

const vectors = JSON.parse(readFileSync(new URL("./vectors.json", import.meta.url)));
const qrisCorpus = JSON.parse(readFileSync(new URL("./qris-corpus.json", import.meta.url)));

test("wallet codec, addresses, signatures and QR payloads match the Rust vectors, and the QR corpus the Rust verdicts", async () => {
  const results = await runChecks(vectors, qrisCorpus);
  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(failed, []);
  assert.ok(results.length > 10);
});
