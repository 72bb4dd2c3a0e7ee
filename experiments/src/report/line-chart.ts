import { niceTicks, tickLabels } from "./charts.ts";
import { esc, fmt, n2 } from "./html.ts";

/** One line of `lineChartSvg`: y per x (NaN / null: a gap). */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly ys: readonly (number | null)[];
  readonly dashed?: boolean;
}

/**
 * Text extents are estimated generously (DejaVu Sans, wider than Helvetica or Liberation Sans),
 * so labels never run past the margins or into each other whatever sans-serif font renders them.
 */
const CHAR_10 = 6.4;
const CHAR_11 = 7;
const CHAR_12_BOLD = 8;
const ANGLE = (40 * Math.PI) / 180;
const MAX_LABEL = 28;
const PLOT_W = 520;
const PLOT_H = 226;

const shorten = (s: string) => (s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 1)}…` : s);

/**
 * A line chart over a shared x axis: numeric xs (steering's α) or categories (the lens's sites,
 * drawn at 0, 1, … and labelled by `xLabels`, rotated). The margins are sized from the labels: the
 * rotated category labels get the depth they need under the axis and the x-axis title goes below
 * them, the y-axis title left of the widest tick label, the legend beside the title or under it.
 * Tick labels are `text.tick`, axis titles `text.axis-title`, the legend `g.legend`.
 */
export const lineChartSvg = (opts: {
  readonly title: string;
  readonly xs: readonly number[];
  readonly xLabels?: readonly string[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** a horizontal reference line (e.g. the unsteered metric) */
  readonly reference?: { readonly y: number; readonly label: string };
}): string => {
  const ys = [
    ...opts.series.flatMap((s) => s.ys.filter((y): y is number => y !== null && Number.isFinite(y))),
    ...(opts.reference && Number.isFinite(opts.reference.y) ? [opts.reference.y] : []),
  ];
  const yLo0 = ys.length > 0 ? Math.min(...ys) : 0;
  const yHi0 = ys.length > 0 ? Math.max(...ys) : 1;
  const pad = (yHi0 - yLo0) * 0.08 || Math.max(0.5, Math.abs(yHi0) * 0.1);
  const [y0, y1] = [yLo0 - pad, yHi0 + pad];
  const yTicks = niceTicks(y0, y1);
  const yTickText = tickLabels(yTicks);
  const xLo = opts.xs.length > 0 ? Math.min(...opts.xs) : 0;
  const xHi = opts.xs.length > 0 ? Math.max(...opts.xs) : 1;
  const xTicks = opts.xLabels ? [] : niceTicks(xLo, xHi, 6);
  const xTickText = tickLabels(xTicks);
  const xl = opts.xLabels?.map(shorten);

  // margins from the labels
  const yTickW = Math.max(0, ...yTickText.map((t) => t.length * CHAR_11));
  const L = Math.max(56, 26 + yTickW + 8); // y-axis title centred at x = 14, 11 px high
  const longest = xl ? Math.max(0, ...xl.map((t) => t.length * CHAR_10)) : 0;
  const below = xl ? 10 + longest * Math.sin(ANGLE) + 10 * Math.cos(ANGLE) : 18;
  const B = Math.ceil(below + 10 + 14);
  const lastExtent = xl && xl.length > 0 ? 3 + xl.at(-1)!.length * CHAR_10 * Math.cos(ANGLE) : 0;
  const R = Math.max(20, Math.ceil(lastExtent + 8));
  const W = L + PLOT_W + R;
  const legendItems = [
    ...opts.series.map((s) => ({ color: s.color, mark: "━", name: s.name })),
    ...(opts.reference ? [{ color: "#777", mark: "╌", name: opts.reference.label }] : []),
  ];
  const legendW = legendItems.reduce((a, it) => a + 8 + CHAR_11 * (it.name.length + 2), 0);
  const titleW = opts.title.length * CHAR_12_BOLD;
  const legendOwnLine = 12 + titleW + 16 + legendW > W - 8;
  const T = legendOwnLine ? 50 : 30;
  const H = T + PLOT_H + B;

  const sx = (x: number) => L + ((x - xLo) / (xHi - xLo || 1)) * PLOT_W;
  const sy = (y: number) => T + ((y1 - y) / (y1 - y0 || 1)) * PLOT_H;
  const base = T + PLOT_H;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart line" width="${n2(W)}" height="${n2(H)}" viewBox="0 0 ${n2(W)} ${n2(H)}" role="img" aria-label="${esc(opts.title)}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${n2(W)}" height="${n2(H)}" fill="#ffffff"/>`,
  ];
  yTicks.forEach((t, i) => {
    out.push(
      `<line x1="${n2(L)}" x2="${n2(L + PLOT_W)}" y1="${n2(sy(t))}" y2="${n2(sy(t))}" stroke="${t === 0 ? "#999" : "#e6e6e6"}"/>`,
      `<text class="tick y" x="${n2(L - 6)}" y="${n2(sy(t) + 4)}" text-anchor="end">${esc(yTickText[i]!)}</text>`,
    );
  });
  if (xl)
    opts.xs.forEach((x, i) => {
      const full = opts.xLabels![i] ?? String(x);
      const shown = xl[i] ?? full;
      out.push(
        `<text class="tick x" transform="translate(${n2(sx(x) + 3)} ${n2(base + 10)}) rotate(40)" font-size="10">${esc(shown)}${shown === full ? "" : `<title>${esc(full)}</title>`}</text>`,
      );
    });
  else
    xTicks.forEach((t, i) => {
      out.push(
        `<line x1="${n2(sx(t))}" x2="${n2(sx(t))}" y1="${T}" y2="${n2(base)}" stroke="#f0f0f0"/>`,
        `<text class="tick x" x="${n2(sx(t))}" y="${n2(base + 14)}" text-anchor="middle" font-size="10">${esc(xTickText[i]!)}</text>`,
      );
    });
  out.push(
    `<line x1="${n2(L)}" x2="${n2(L + PLOT_W)}" y1="${n2(base)}" y2="${n2(base)}" stroke="#333"/>`,
    `<line x1="${n2(L)}" x2="${n2(L)}" y1="${T}" y2="${n2(base)}" stroke="#333"/>`,
    `<text class="axis-title x" x="${n2(L + PLOT_W / 2)}" y="${n2(H - 6)}" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text class="axis-title y" transform="translate(14 ${n2(T + PLOT_H / 2)}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  if (opts.reference && Number.isFinite(opts.reference.y))
    out.push(
      `<line class="reference" x1="${n2(L)}" x2="${n2(L + PLOT_W)}" y1="${n2(sy(opts.reference.y))}" y2="${n2(sy(opts.reference.y))}" stroke="#777" stroke-dasharray="4 3"><title>${esc(`${opts.reference.label}: ${fmt(opts.reference.y, 4)}`)}</title></line>`,
    );
  for (const s of opts.series) {
    const pts = opts.xs.flatMap((x, i) => {
      const y = s.ys[i];
      return y !== null && y !== undefined && Number.isFinite(y) ? [{ x, y, i }] : [];
    });
    if (pts.length === 0) continue;
    const d = pts.map((p, k) => `${k === 0 ? "M" : "L"} ${n2(sx(p.x))} ${n2(sy(p.y))}`).join(" ");
    out.push(
      `<path class="series" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`,
    );
    for (const p of pts)
      out.push(
        `<circle cx="${n2(sx(p.x))}" cy="${n2(sy(p.y))}" r="3" fill="${s.color}"><title>${esc(`${s.name} @ ${opts.xLabels?.[p.i] ?? n2(p.x)}: ${fmt(p.y, 4)}`)}</title></circle>`,
      );
  }
  out.push(
    `<text class="title" x="12" y="18" font-size="12" font-weight="bold">${esc(opts.title)}</text>`,
    `<g class="legend"><text x="${n2(W - 8)}" y="${legendOwnLine ? 38 : 18}" font-size="11" text-anchor="end" fill="#555">${legendItems.map((it, i) => `<tspan fill="${it.color}"${i > 0 ? ' dx="8"' : ""}>${it.mark}</tspan> ${esc(it.name)}`).join(" ")}</text></g>`,
    "</svg>",
  );
  return out.join("\n");
};
