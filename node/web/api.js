// The node's own /v1 API (same origin).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

async function handle(r) {
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const e = body?.error ?? {};
    throw new ApiError(r.status, e.code ?? `http_${r.status}`, e.message ?? r.statusText);
  }
  return body;
}

export const get = (path) => fetch(path, { headers: { accept: "application/json" } }).then(handle);
export const post = (path, json) =>
  fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) }).then(handle);

/** Subscribe to committed blocks; returns a function that unsubscribes. */
export function onBlocks(callback) {
  if (typeof EventSource === "undefined") return () => {};
  const source = new EventSource("/v1/events");
  source.addEventListener("block", (e) => {
    try { callback(JSON.parse(e.data)); } catch { /* ignore a bad event */ }
  });
  return () => source.close();
}
