import { runChecks } from "./selftest-core.js";

const summary = document.getElementById("summary");
try {
  const vectors = await (await fetch("/static/test/vectors.json")).json();
  const qrisCorpus = await (await fetch("/static/test/qris-corpus.json")).json();
  const results = await runChecks(vectors, qrisCorpus);
  const list = document.getElementById("results");
  for (const r of results) {
    const li = document.createElement("li");
    li.textContent = `${r.ok ? "ok" : "FAIL"} ${r.name}${r.detail ? ` — ${r.detail}` : ""}`;
    list.append(li);
  }
  const failed = results.filter((r) => !r.ok).length;
  summary.textContent = `${results.length - failed} passed, ${failed} failed`;
  summary.dataset.state = failed ? "failed" : "passed";
  window.selftest = results;
} catch (e) {
  summary.textContent = `error: ${e}`;
  summary.dataset.state = "failed";
}
