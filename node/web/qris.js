// EMVCo merchant-presented payment requests (the format QRIS builds on), with
// kopnet's merchant-account template: tag 26 = { 00: "ID.KOPNET", 01: address }.
// Mirrors node/src/web/qris.rs; both are checked against test/vectors.json.
import { isAddress } from "./address.js";

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
  }
}

/** {to, amount?, name, city, mcc, reference?} → payload text. */
export function encode({ to, amount, name, city, mcc = "0000", reference }) {
  if (!isAddress(to)) throw new QrisError("bad_address");
  let out = tlv("00", "01") + tlv("01", amount ? "12" : "11");
  out += tlv("26", tlv("00", GUI) + tlv("01", to));
  out += tlv("52", mcc) + tlv("53", "360");
  if (amount) out += tlv("54", String(amount));
  out += tlv("58", "ID") + tlv("59", name) + tlv("60", city);
  if (reference) out += tlv("62", tlv("05", reference));
  out += "6304";
  return out + crc16(out).toString(16).toUpperCase().padStart(4, "0");
}

function fields(text) {
  const out = [];
  let at = 0;
  while (at < text.length) {
    const head = text.slice(at, at + 4);
    if (head.length < 4) throw new QrisError("truncated");
    if (!/^\d{4}$/.test(head)) throw new QrisError("bad_header");
    const len = Number(head.slice(2));
    if (len === 0) throw new QrisError("bad_header");
    const value = text.slice(at + 4, at + 4 + len);
    if (value.length < len) throw new QrisError("truncated");
    out.push([head.slice(0, 2), value]);
    at += 4 + len;
  }
  return out;
}

/** Parse a scanned payload; throws QrisError with a `kind`. */
export function parse(payload) {
  const p = String(payload ?? "").trim();
  if (!p || p.length > 512) throw new QrisError("bad_length");
  if (!printable(p)) throw new QrisError("bad_character");
  const body = p.slice(0, -4);
  if (p.length < 8 || !body.endsWith("6304")) throw new QrisError("missing_crc");
  const want = crc16(body).toString(16).toUpperCase().padStart(4, "0");
  if (p.slice(-4).toUpperCase() !== want) throw new QrisError("bad_crc");
  const list = fields(body.slice(0, -4));
  if (!list.length || list[0][0] !== "00" || list[0][1] !== "01") throw new QrisError("bad_field", "00");
  const map = new Map();
  for (const [t, v] of list) {
    if (map.has(t)) throw new QrisError("duplicate_field", t);
    map.set(t, v);
  }
  let to = null;
  for (let t = 26; t <= 51 && !to; t++) {
    const v = map.get(String(t));
    if (!v) continue;
    const sub = new Map(fields(v));
    if ((sub.get("00") ?? "").toUpperCase() === GUI) to = sub.get("01") ?? null;
  }
  if (!to) throw new QrisError("not_kopnet");
  if (!isAddress(to)) throw new QrisError("bad_address");
  for (const t of ["52", "53", "58", "59", "60"]) if (!map.has(t)) throw new QrisError("missing_field", t);
  if (map.get("53") !== "360") throw new QrisError("bad_field", "53");
  let amount = null;
  if (map.has("54")) {
    const m = /^(\d{1,13})(?:\.0*)?$/.exec(map.get("54"));
    if (!m || Number(m[1]) === 0) throw new QrisError("bad_field", "54");
    amount = Number(m[1]);
  }
  let reference = null;
  if (map.has("62")) reference = new Map(fields(map.get("62"))).get("05") ?? null;
  return { to, amount, name: map.get("59"), city: map.get("60"), mcc: map.get("52"), reference };
}
