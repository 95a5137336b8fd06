// EMVCo merchant-presented payment requests (the format QRIS builds on), with
// kopnet's merchant-account template: tag 26 = { 00: "ID.KOPNET", 01: address }
// or { 00: "ID.KOPNET", 02: phone alias "+628…" } (looked up before paying).
// Mirrors node/src/web/qris.rs; both are checked against test/vectors.json.
import { fromAddress, isAddress, toAddress } from "./address.js";

export const GUI = "ID.KOPNET";

export function crc16(text) {
  let crc = 0xffff;
  for (const b of new TextEncoder().encode(text)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

const tlv = (tag, value) => `${tag}${String(value.length).padStart(2, "0")}${value}`;
const printable = (s) => /^[\x20-\x7e]*$/.test(s);

export class QrisError extends Error {
  constructor(kind, detail) {
    super(detail ? `${kind}: ${detail}` : kind);
    this.kind = kind;
    this.detail = detail ?? null;
  }
}

/** A phone alias as the directory writes numbers: +628 and 7 to 11 digits. */
export const isPhoneAlias = (s) => /^\+628[0-9]{7,11}$/.test(s);

/** A phone number as a person types it (08…, 628…, +628…, with spaces,
 * dashes, dots, parentheses) → its alias "+628…", or null. The twin of the
 * node's `personal::Phone::parse`; test/vectors.json's "phones" checks it. */
export function phoneAlias(text) {
  const s = String(text ?? "").trim();
  if (!s || s.length > 32) return null;
  const plus = s.startsWith("+");
  const rest = plus ? s.slice(1) : s;
  if (!/^[0-9 .()-]*$/.test(rest)) return null;
  const d = rest.replace(/[ .()-]/g, "");
  const sub = plus ? (d.startsWith("628") ? d.slice(3) : null)
    : d.startsWith("08") ? d.slice(2) : d.startsWith("628") ? d.slice(3) : null;
  return sub !== null && /^[0-9]{7,11}$/.test(sub) ? `+628${sub}` : null;
}

/** {to | phone, amount?, name, city, mcc, reference?} → payload text. */
export function encode({ to, phone, amount, name, city, mcc = "0000", reference }) {
  let payee;
  if (phone != null) {
    if (to != null) throw new QrisError("conflicting_field", GUI);
    if (!isPhoneAlias(phone)) throw new QrisError("bad_phone");
    payee = tlv("02", phone);
  } else {
    if (!isAddress(to)) throw new QrisError("bad_address");
    payee = tlv("01", to);
  }
  let out = tlv("00", "01") + tlv("01", amount ? "12" : "11");
  out += tlv("26", tlv("00", GUI) + payee);
  out += tlv("52", mcc) + tlv("53", "360");
  if (amount) out += tlv("54", String(amount));
  out += tlv("58", "ID") + tlv("59", name) + tlv("60", city);
  if (reference) out += tlv("62", tlv("05", reference));
  out += "6304";
  return out + crc16(out).toString(16).toUpperCase().padStart(4, "0");
}

// Parsing follows the numbered rules in node/src/web/qris.rs step by step,
// so both give the same verdict (the same kind and field) on every payload;
// fuzz/corpus/qris is replayed through both (test/qris-corpus.json).

/** `ID LEN VALUE` fields in order; an id twice is refused. */
function fields(text, parent) {
  const out = new Map();
  let at = 0;
  while (at < text.length) {
    const head = text.slice(at, at + 4);
    if (head.length < 4) throw new QrisError("truncated");
    if (!/^\d{4}$/.test(head)) throw new QrisError("bad_header");
    const len = Number(head.slice(2));
    if (len === 0) throw new QrisError("bad_header");
    const value = text.slice(at + 4, at + 4 + len);
    if (value.length < len) throw new QrisError("truncated");
    const tag = head.slice(0, 2);
    if (out.has(tag)) throw new QrisError("duplicate_field", parent ? `${parent}.${tag}` : tag);
    out.set(tag, value);
    at += 4 + len;
  }
  return out;
}

/** The payee of the one kopnet merchant-account template among 26..51:
 * {to} (sub-tag 01) or {phone} (02), exactly one. */
function kopnetPayee(map) {
  let found = null;
  for (let t = 26; t <= 51; t++) {
    const tag = String(t);
    if (!map.has(tag)) continue;
    const sub = fields(map.get(tag), tag);
    if ((sub.get("00") ?? "").toUpperCase() !== GUI) continue;
    if (found) throw new QrisError("duplicate_field", GUI);
    found = sub;
  }
  if (!found) throw new QrisError("not_kopnet");
  const to = found.get("01");
  const phone = found.get("02");
  if (to !== undefined && phone !== undefined) throw new QrisError("conflicting_field", GUI);
  if (to === undefined && phone === undefined) throw new QrisError("not_kopnet");
  return to !== undefined ? { to, phone: null } : { to: null, phone };
}

const text = (map, tag, max) => {
  const v = map.get(tag);
  if (v.length > max) throw new QrisError("bad_field", tag);
  return v;
};

/** Parse a scanned payload; throws QrisError with a `kind` (and the field as `detail`). */
export function parse(payload) {
  const p = String(payload ?? "").replace(/^[ \t\n\r\f]+|[ \t\n\r\f]+$/g, "");
  if (!printable(p)) throw new QrisError("bad_character");
  if (!p || p.length > 512) throw new QrisError("bad_length");
  const body = p.slice(0, -4);
  if (p.length < 8 || !body.endsWith("6304")) throw new QrisError("missing_crc");
  const want = crc16(body).toString(16).toUpperCase().padStart(4, "0");
  if (p.slice(-4).toUpperCase() !== want) throw new QrisError("bad_crc");
  const map = fields(body.slice(0, -4), null);
  if (map.has("63")) throw new QrisError("duplicate_field", "63");
  const [first] = map;
  if (!first || first[0] !== "00" || first[1] !== "01") throw new QrisError("bad_field", "00");
  const { to, phone } = kopnetPayee(map);
  if (to !== null && (!isAddress(to) || toAddress(fromAddress(to)) !== to)) throw new QrisError("bad_address");
  if (phone !== null && !isPhoneAlias(phone)) throw new QrisError("bad_phone");
  for (const t of ["52", "53", "58", "59", "60"]) if (!map.has(t)) throw new QrisError("missing_field", t);
  if (map.get("53") !== "360") throw new QrisError("bad_field", "53");
  if (!/^\d{4}$/.test(map.get("52"))) throw new QrisError("bad_field", "52");
  const name = text(map, "59", 25);
  const city = text(map, "60", 15);
  let amount = null;
  if (map.has("54")) {
    const m = /^(\d{1,13})(?:\.0*)?$/.exec(map.get("54"));
    if (!m || Number(m[1]) === 0) throw new QrisError("bad_field", "54");
    amount = Number(m[1]);
  }
  let reference = null;
  if (map.has("62")) reference = fields(map.get("62"), "62").get("05") ?? null;
  if (reference !== null && reference.length > 25) throw new QrisError("bad_field", "62");
  // Rule 9: the point of initiation agrees with the amount.
  if (map.has("01")) {
    const initiation = map.get("01");
    if (initiation !== "11" && initiation !== "12") throw new QrisError("bad_field", "01");
    if ((initiation === "12") !== (amount !== null)) throw new QrisError("conflicting_field", "01");
  }
  // Rule 10: no second name or city in the language template.
  if (map.has("64")) {
    const language = fields(map.get("64"), "64");
    if (language.has("01") && language.get("01") !== name) throw new QrisError("conflicting_field", "64.01");
    if (language.has("02") && language.get("02") !== city) throw new QrisError("conflicting_field", "64.02");
  }
  return { to, phone, amount, name, city, mcc: map.get("52"), reference };
}
