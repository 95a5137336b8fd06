// Tiny inline SVG charts for the explorer: signed horizontal bars and a gauge.
import { rupiah } from "./format.js";

const SVGNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...kids) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

/** Horizontal bars: [{label, value, color}] scaled to the largest |value|. */
export function bars(items, fmt = rupiah) {
  const w = 320, rowH = 22, labelW = 120;
  const max = Math.max(1, ...items.map((i) => Math.abs(Number(i.value))));
  const signed = items.some((i) => Number(i.value) < 0);
  const zero = signed ? labelW + (w - labelW) / 2 : labelW;
  const span = signed ? (w - labelW) / 2 - 4 : w - labelW - 4;
  const g = svg("svg", { viewBox: `0 0 ${w} ${items.length * rowH + 4}`, class: "chart", role: "img" });
  items.forEach((item, i) => {
    const v = Number(item.value);
    const len = (Math.abs(v) / max) * span;
    const y = i * rowH + 4;
    g.append(svg("text", { x: 0, y: y + 13, "font-size": 11, fill: "#5d6a63" }, item.label));
    g.append(svg("rect", { x: v < 0 ? zero - len : zero, y, width: Math.max(1, len), height: rowH - 8, rx: 3,
      fill: item.color ?? (v < 0 ? "#b3261e" : "#0f7a4f") }, svg("title", {}, `${item.label}: ${fmt(v)}`)));
  });
  if (signed) g.append(svg("line", { x1: zero, x2: zero, y1: 0, y2: items.length * rowH + 4, stroke: "#999" }));
  return g;
}

/** A gauge: used / total as a filled bar. */
export function gauge(fraction, color = "#0f7a4f") {
  const f = Math.max(0, Math.min(1, fraction || 0));
  return svg("svg", { viewBox: "0 0 200 14", class: "chart", role: "img" },
    svg("rect", { x: 0, y: 0, width: 200, height: 14, rx: 7, fill: "#e9e6de" }),
    svg("rect", { x: 0, y: 0, width: 200 * f, height: 14, rx: 7, fill: color }));
}
