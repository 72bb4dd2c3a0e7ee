/**
 * DOM helpers shared by the served explorer (app.js.ts) and the static one (static.js.ts):
 * `el(tag, attrs, ...children)` and `fmt(x, digits)` (a dash for missing or non-finite numbers).
 */
export const DOM_JS = `
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
};
const fmt = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
`;
