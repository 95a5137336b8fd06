// Offline shell: the wallet and explorer pages and their static files are
// cached; API calls always go to the network (balances are never stale).
const CACHE = "kopnet-shell-v3";
const SHELL = [
  "/wallet", "/explorer", "/static/app.css", "/static/icon.svg", "/static/manifest.json",
  "/static/blake3.js", "/static/address.js", "/static/codec.js", "/static/keys.js", "/static/guard.js", "/static/payee.js", "/static/i18n.js",
  "/static/format.js", "/static/api.js", "/static/qris.js", "/static/wallet.js", "/static/explorer.js",
  "/static/ui.js", "/static/charts.js", "/static/counter.js",
];
self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin) return;
  if (!SHELL.includes(url.pathname)) return;
  // Network first (the server revalidates by ETag), cache when offline.
  e.respondWith(
    fetch(e.request)
      .then((r) => {
        const copy = r.clone();
        caches.open(CACHE).then((c) => c.put(e.request, copy));
        return r;
      })
      .catch(() => caches.match(e.request)),
  );
});
