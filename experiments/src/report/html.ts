/**
 * Small HTML helpers: escaping (every piece of text and every attribute value goes through
 * `esc`), number formatting, and a template tag that escapes interpolated strings unless they
 * are already markup (`Html`).
 */
export const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!,
  );

/** Markup that is already escaped. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export const raw = (s: string): Html => new Html(s);

type Part = Html | string | number | null | undefined | readonly Part[];

const part = (p: Part): string => {
  if (p === null || p === undefined) return "";
  if (p instanceof Html) return p.value;
  if (Array.isArray(p)) return (p as readonly Part[]).map(part).join("");
  return esc(String(p));
};

/** `html\`<td>${text}</td>\``: strings and numbers are escaped, Html and arrays of Html are not. */
export const html = (strings: TemplateStringsArray, ...parts: Part[]): Html =>
  new Html(strings.reduce((acc, s, i) => acc + s + (i < parts.length ? part(parts[i]!) : ""), ""));

/** A number for display: fixed digits, "—" for null / NaN / ±∞. */
export const fmt = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);

/** A score for display: 4 significant digits, exponent for very small or large magnitudes. */
export const fmtScore = (x: number | null | undefined): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  const a = Math.abs(x);
  if (a === 0) return "0";
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : x.toPrecision(4);
};

/** Compact number for SVG attributes. */
export const n2 = (x: number): string =>
  Number.isInteger(x) ? String(x) : x.toFixed(2).replace(/\.?0+$/, "");

/** Pretty JSON, safe for a <pre> (escaped by the caller via html``). */
export const prettyJson = (v: unknown): string => {
  try {
    return JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    return String(v);
  }
};

/** A key / value card of a report's header row. */
export const card = (k: string, v: string, small = false): Html =>
  html`<div class="card"><div class="k">${k}</div><div class="v${small ? " small" : ""}">${v}</div></div>`;

/** CSS the causal and readout sections share (inline code, value bars, reference rows); pages without such cells leave it out. */
export const SECTION_CSS = `
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; background: #eef2f6; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
.bar { display: inline-block; height: 9px; vertical-align: middle; margin-left: 6px; border-radius: 2px; }
tr.reference td { background: #eef3fb; font-weight: 600; }
`;
