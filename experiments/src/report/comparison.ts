import { niceTicks } from "./charts.ts";
import { esc, fmt, n2 } from "./html.ts";

/**
 * The comparison chart of a sweep: one row per cell (labelled by the spec fields that vary), one
 * panel per figure (faithfulness, AUC, circuit size, IIA, …) with its own axis, and one mark per
 * cell in each panel, coloured by the cell's categorical fields (method × ablation, …), so a
 * sweep reads at a glance instead of one long section per cell. Marks are
 * `<circle class="mark" data-cell data-metric data-value>` with a `<title>`; a cell without the
 * figure gets a grey dash instead.
 */

export interface ComparisonMetric<R> {
  readonly key: string;
  readonly label: string;
  readonly value: (r: R) => number | null | undefined;
  /** unit: [0, 1] (widened to the data); count: [0, max]; free: the data's range */
  readonly domain: "unit" | "count" | "free";
  /** a dashed reference line (faithfulness 1, chance) */
  readonly reference?: number;
}

export interface ComparisonRow {
  readonly id: string;
  readonly label: string;
  /** colour group (null: one colour) */
  readonly group: string | null;
}

/** Okabe–Ito, colour-blind safe. */
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"];

const CHAR = 6.6; // px per character at 11px, generous for wide fonts
const ROW = 20;
const GAP = 26;
const MAX_WIDTH = 1100;

const finite = (x: number | null | undefined): x is number =>
  x !== null && x !== undefined && Number.isFinite(x);

export interface ComparisonSvg {
  readonly svg: string;
  readonly marks: number;
  readonly metrics: readonly string[];
}

/** The chart, or null when there are fewer than two rows or no metric has a value. */
export const comparisonSvg = <R>(o: {
  readonly title: string;
  readonly rows: readonly R[];
  readonly row: (r: R) => ComparisonRow;
  readonly metrics: readonly ComparisonMetric<R>[];
}): ComparisonSvg | null => {
  const metrics = o.metrics.filter((m) => o.rows.some((r) => finite(m.value(r))));
  if (o.rows.length < 2 || metrics.length === 0) return null;
  const rows = o.rows.map(o.row);
  const groups = [...new Set(rows.map((r) => r.group).filter((g): g is string => g !== null))];
  const colored = groups.length > 1 && groups.length <= PALETTE.length;
  const color = (g: string | null) => (colored && g !== null ? PALETTE[groups.indexOf(g)]! : PALETTE[0]!);

  const longest = Math.max(...rows.map((r) => r.label.length));
  const labelW = Math.min(420, Math.max(90, longest * CHAR + 16));
  const maxChars = labelW >= longest * CHAR + 16 ? longest : Math.floor((labelW - 16) / CHAR);
  const x0 = labelW + 10;
  const panelW = Math.max(110, Math.min(180, (MAX_WIDTH - x0) / metrics.length - GAP));
  // legend entries wrap onto as many lines as the panels' width needs
  const entryW = (g: string) => 26 + Math.min(g.length, 48) * CHAR + 8;
  const chartW = x0 + metrics.length * (panelW + GAP);
  const legendMax = Math.max(chartW, 600) - 24;
  const legendLines: string[][] = [];
  if (colored)
    for (const g of groups) {
      const line = legendLines.at(-1);
      const used = line?.reduce((a, x) => a + entryW(x), 0) ?? Number.POSITIVE_INFINITY;
      if (line !== undefined && used + entryW(g) <= legendMax) line.push(g);
      else legendLines.push([g]);
    }
  const legendW = Math.max(0, ...legendLines.map((l) => l.reduce((a, x) => a + entryW(x), 0)));
  const T = 44 + legendLines.length * 18; // top of the first row
  const axisY = T + rows.length * ROW + 4;
  const H = axisY + 34;
  const W = Math.max(chartW, 12 + legendW + 12, o.title.length * 7.5 + 24);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart comparison" width="${n2(W)}" height="${n2(H)}" viewBox="0 0 ${n2(W)} ${n2(H)}" role="img" aria-label="${esc(o.title)}" font-family="Helvetica, Arial, sans-serif" font-size="11" data-rows="${rows.length}" data-metrics="${esc(metrics.map((m) => m.key).join(" "))}">`,
    `<rect x="0" y="0" width="${n2(W)}" height="${n2(H)}" fill="#ffffff"/>`,
    `<text class="title" x="12" y="18" font-size="12" font-weight="bold">${esc(o.title)}</text>`,
  ];
  if (colored) {
    out.push('<g class="legend">');
    legendLines.forEach((line, i) => {
      const y = 34 + i * 18;
      let lx = 12;
      for (const g of line) {
        const shown = g.length > 48 ? `${g.slice(0, 47)}…` : g;
        out.push(
          `<circle cx="${n2(lx + 6)}" cy="${y - 4}" r="4.5" fill="${color(g)}"/>`,
          `<text x="${n2(lx + 16)}" y="${y}">${esc(shown)}${shown === g ? "" : `<title>${esc(g)}</title>`}</text>`,
        );
        lx += entryW(g);
      }
    });
    out.push("</g>");
  }
  // row bands and labels
  out.push('<g class="rows">');
  rows.forEach((r, i) => {
    const y = T + i * ROW;
    if (i % 2 === 0)
      out.push(`<rect x="4" y="${n2(y)}" width="${n2(W - 8)}" height="${ROW}" fill="#f5f7fa"/>`);
    const label = r.label.length > maxChars ? `${r.label.slice(0, maxChars - 1)}…` : r.label;
    out.push(
      `<text class="row-label" x="${n2(labelW)}" y="${n2(y + ROW / 2 + 4)}" text-anchor="end">${esc(label)}${label === r.label ? "" : `<title>${esc(r.label)}</title>`}</text>`,
    );
  });
  out.push("</g>");
  let marks = 0;
  metrics.forEach((m, k) => {
    const px = x0 + k * (panelW + GAP);
    const vs = o.rows.map((r) => m.value(r)).filter(finite);
    let lo = Math.min(...vs);
    let hi = Math.max(...vs);
    if (m.domain === "unit") [lo, hi] = [Math.min(0, lo), Math.max(1, hi)];
    else if (m.domain === "count") [lo, hi] = [Math.min(0, lo), Math.max(hi, 1)];
    else if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
    const pad = (hi - lo) * 0.04;
    const [d0, d1] = [lo - pad, hi + pad];
    const sx = (v: number) => px + ((v - d0) / (d1 - d0)) * panelW;
    out.push(
      `<g class="panel" data-metric="${esc(m.key)}">`,
      `<text class="panel-title" x="${n2(px + panelW / 2)}" y="${T - 6}" text-anchor="middle" font-weight="bold">${esc(m.label)}</text>`,
    );
    const ticks = niceTicks(lo, hi, 4);
    for (const t of ticks)
      out.push(
        `<line x1="${n2(sx(t))}" x2="${n2(sx(t))}" y1="${T}" y2="${axisY}" stroke="#e3e6ea"/>`,
        `<text class="tick" x="${n2(sx(t))}" y="${axisY + 14}" text-anchor="middle" font-size="10">${esc(n2(t))}</text>`,
      );
    out.push(`<line x1="${n2(px)}" x2="${n2(px + panelW)}" y1="${axisY}" y2="${axisY}" stroke="#333"/>`);
    if (m.reference !== undefined && m.reference >= d0 && m.reference <= d1)
      out.push(
        `<line class="reference" x1="${n2(sx(m.reference))}" x2="${n2(sx(m.reference))}" y1="${T}" y2="${axisY}" stroke="#888" stroke-dasharray="4 3"/>`,
      );
    o.rows.forEach((r, i) => {
      const v = m.value(r);
      const y = T + i * ROW + ROW / 2;
      const row = rows[i]!;
      if (finite(v)) {
        marks++;
        out.push(
          `<circle class="mark" cx="${n2(sx(v))}" cy="${n2(y)}" r="4.5" fill="${color(row.group)}" fill-opacity="0.85" stroke="#ffffff" data-cell="${esc(row.id)}" data-metric="${esc(m.key)}" data-value="${String(v)}"><title>${esc(`${row.label}: ${m.label} ${fmt(v, 4)}`)}</title></circle>`,
        );
      } else
        out.push(
          `<text class="missing" x="${n2(px + 4)}" y="${n2(y + 4)}" fill="#a0a7af">—<title>${esc(`${row.label}: no ${m.label}`)}</title></text>`,
        );
    });
    out.push("</g>");
  });
  out.push("</svg>");
  return { svg: out.join("\n"), marks, metrics: metrics.map((m) => m.key) };
};
