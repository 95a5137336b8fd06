// Rupiah and other display helpers.

/** 25000 → "Rp25.000" (negative: "−Rp25.000"). */
export function rupiah(value) {
  if (value === null || value === undefined || value === "") return "—";
  const n = BigInt(value);
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  return `${neg ? "−" : ""}Rp${digits}`;
}

/** "Rp25.000", "25.000", "25000", "Rp 25.000" → 25000; null if not a whole positive amount. */
export function parseRupiah(text) {
  const t = String(text ?? "").trim().replace(/^rp\s*/i, "").replace(/\./g, "").replace(/\s/g, "");
  if (!/^\d{1,16}$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export const short = (s, n = 10) => (s && s.length > n + 3 ? `${s.slice(0, n)}…` : s ?? "");

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
