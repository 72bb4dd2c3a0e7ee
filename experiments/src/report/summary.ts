import { type Html, html } from "./html.ts";

/**
 * A run's summary tables: one row per cell, columns with human labels. To fit the page, a column
 * whose value is the same in every row is taken out of the table and said once above it ("in
 * every cell: model induction · …"), and a column with no value in any row is left out (and
 * named in the note). Also the spec helpers the tables and the comparison chart use: the fields
 * that vary between cells and their human labels.
 */

/** Leaf values of a spec by dotted path (arrays are leaves), as JSON text. */
export const flattenSpec = (v: unknown, path = "", out = new Map<string, string>()): Map<string, string> => {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0 && path !== "") out.set(path, "{}");
    for (const [k, x] of entries) flattenSpec(x, path === "" ? k : `${path}.${k}`, out);
  } else out.set(path === "" ? "(spec)" : path, JSON.stringify(v) ?? "undefined");
  return out;
};

/**
 * The spec fields whose values differ between cells (missing counts as a value), as paths of at
 * most `depth` segments: `method.source.site`, but a deeper difference is its object of depth 3.
 */
export const varyingFields = (specs: readonly unknown[], depth = 3): string[] => {
  const flat = specs.map((s) => flattenSpec(s));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))];
  const leaves = keys.filter((k) => new Set(flat.map((f) => f.get(k) ?? "—")).size > 1);
  return [...new Set(leaves.map((k) => k.split(".").slice(0, depth).join(".")))];
};

/** The value at a dotted path of a spec. */
export const specAt = (spec: unknown, path: string): unknown => {
  if (path === "(spec)") return spec;
  let v: unknown = spec;
  for (const k of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
};

/** A spec value in a few words: tagged objects as `tag k=v …`, others as JSON. */
export const compactValue = (v: unknown): string => {
  if (v === undefined) return "—";
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const { _tag, ...rest } = v as Record<string, unknown>;
    const fields = Object.entries(rest).map(([k, x]) => `${k}=${compactValue(x)}`);
    return typeof _tag === "string" ? [_tag, ...fields].join(" ") : `{${fields.join(", ")}}`;
  }
  return JSON.stringify(v) ?? String(v);
};

export const short = (s: string, max = 48): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

const WORDS: Readonly<Record<string, string>> = {
  tau: "τ",
  alpha: "α",
  alphas: "α values",
  _tag: "",
  n: "n",
  spearmanSample: "Spearman sample",
  spearmanSeed: "Spearman seed",
  dictSize: "dictionary size",
  heldOut: "held-out families",
  maxIter: "max iterations",
  lr: "learning rate",
  batchSize: "batch size",
  topK: "top k",
};

/** A human label for a dotted spec path: its segments as words (`method.tau` → "method τ"). */
export const fieldLabel = (path: string): string =>
  path
    .split(".")
    .map(
      (k) => WORDS[k] ?? k.replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`),
    )
    .filter((w) => w !== "")
    .join(" ");

export interface SummaryColumn<R> {
  /** stable id (data-col) */
  readonly key: string;
  readonly label: string;
  /** the header's tooltip */
  readonly title?: string;
  readonly numeric?: boolean;
  readonly mono?: boolean;
  /** kept even when constant (the cell link) */
  readonly fixed?: boolean;
  readonly text: (r: R) => string;
  /** a cell's tooltip (default: its full text when shortened) */
  readonly tip?: (r: R) => string | undefined;
  readonly href?: (r: R) => string;
  /** shorten longer texts to this many characters (the tooltip has the full text) */
  readonly max?: number;
}

const EMPTY = "—";

/**
 * The summary table of `rows`: constant columns (two rows or more) said once in a note above the
 * table, columns with no value anywhere left out; `cls` is the table's class after "summary".
 */
export const summaryTable = <R>(
  cls: string,
  columns: readonly SummaryColumn<R>[],
  rows: readonly R[],
): Html => {
  const texts = columns.map((c) => rows.map((r) => c.text(r)));
  const empty = columns.filter((c, i) => !c.fixed && texts[i]!.every((t) => t === EMPTY || t === ""));
  const constant = columns.filter(
    (c, i) => !c.fixed && rows.length > 1 && !empty.includes(c) && new Set(texts[i]).size === 1,
  );
  const shown = columns
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => !empty.includes(c) && !constant.includes(c));
  const head = shown.map(
    ({ c }) =>
      html`<th data-col="${c.key}"${c.numeric ? html` class="num"` : ""}${c.title ? html` title="${c.title}"` : ""}>${c.label}</th>`,
  );
  const body = rows.map(
    (r, j) =>
      html`<tr>${shown.map(({ c, i }) => {
        const full = texts[i]![j]!;
        const t = c.max !== undefined ? short(full, c.max) : full;
        const tip = c.tip?.(r) ?? (t !== full ? full : undefined);
        const cls = [c.numeric ? "num" : "", c.mono ? "name" : ""].filter((x) => x !== "").join(" ");
        const inner = c.href ? html`<a href="${c.href(r)}">${t}</a>` : html`${t}`;
        return html`<td data-col="${c.key}"${cls ? html` class="${cls}"` : ""}${tip !== undefined ? html` title="${tip}"` : ""}>${inner}</td>`;
      })}</tr>\n`,
  );
  const same =
    constant.length > 0
      ? html`<p class="note shared">In every cell: ${constant.map((c, k) => html`${k > 0 ? " · " : ""}<span data-col="${c.key}">${c.label} <b>${texts[columns.indexOf(c)]![0]}</b></span>`)}</p>`
      : "";
  const none =
    empty.length > 0
      ? html`<p class="note">No values in these cells for: ${empty.map((c) => c.label).join(", ")}.</p>`
      : "";
  return html`${same}<div class="scroll"><table class="summary${cls ? ` ${cls}` : ""}">
<thead><tr>${head}</tr></thead>
<tbody>
${body}</tbody></table></div>
${none}`;
};
