import type { SweepResult } from "@patchbay/causal";
import { esc, fmt, n2 } from "./html.ts";

/**
 * The IIA heatmap of an `iia-sweep` cell as inline SVG: one row per site (usually one per
 * layer), one column per position, every cell coloured on a fixed 0–1 scale (viridis, so two
 * sweeps can be compared by eye), labelled with its IIA when the cells are large enough, and
 * with a `<title>` tooltip; a separate column holds MIB's per-layer max, a line below gives the
 * mean and max over layers, and the best (site, position) is outlined.
 */

/** Viridis at ninths: IIA 0 is the first colour, IIA 1 the last (values are clamped to 0–1). */
export const IIA_SCALE: readonly (readonly [number, string])[] = [
  [0, "#440154"],
  [0.125, "#472d7b"],
  [0.25, "#3b528b"],
  [0.375, "#2c728e"],
  [0.5, "#21918c"],
  [0.625, "#28ae80"],
  [0.75, "#5ec962"],
  [0.875, "#addc30"],
  [1, "#fde725"],
];

/** Cells whose value is not a finite number. */
export const IIA_MISSING = "#d0d4d9";

const rgb = (hex: string): [number, number, number] => [
  Number.parseInt(hex.slice(1, 3), 16),
  Number.parseInt(hex.slice(3, 5), 16),
  Number.parseInt(hex.slice(5, 7), 16),
];

const hex2 = (x: number) => Math.round(x).toString(16).padStart(2, "0");

/** The colour of an IIA on the fixed 0–1 scale (linear in RGB between the viridis stops). */
export const iiaColor = (v: number): string => {
  if (!Number.isFinite(v)) return IIA_MISSING;
  const x = Math.max(0, Math.min(1, v));
  for (let i = 1; i < IIA_SCALE.length; i++) {
    const [x1, c1] = IIA_SCALE[i]!;
    if (x <= x1) {
      const [x0, c0] = IIA_SCALE[i - 1]!;
      const t = (x - x0) / (x1 - x0);
      const a = rgb(c0);
      const b = rgb(c1);
      return `#${a.map((ai, k) => hex2(ai + (b[k]! - ai) * t)).join("")}`;
    }
  }
  return IIA_SCALE.at(-1)![1];
};

/** Label colour readable on top of `iiaColor(v)`. */
const inkOn = (v: number) => (Number.isFinite(v) && v >= 0.55 ? "#111111" : "#ffffff");

const short = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

export interface HeatmapOptions {
  /** the widest the SVG should get (the cells shrink to fit, down to `minCell`) */
  readonly maxWidth?: number;
  readonly minCell?: number;
  readonly maxCell?: number;
}

/** Where the cells ended up and whether they carry value labels (for tests and callers). */
export interface HeatmapSvg {
  readonly svg: string;
  readonly cellWidth: number;
  readonly cellHeight: number;
  readonly labels: boolean;
  readonly best: { readonly row: number; readonly col: number } | null;
}

const rowMax = (row: readonly number[] | undefined) => {
  const finite = (row ?? []).filter(Number.isFinite);
  return finite.length > 0 ? Math.max(...finite) : Number.NaN;
};

/** The best cell: the one `grid.best` names, else the first argmax. */
/** The grid the heatmap draws: causal's IIA sweep (a causal cell's `sweep`, without its example count). */
type IiaGrid = Omit<SweepResult, "n">;

const bestCell = (g: IiaGrid): { row: number; col: number } | null => {
  const r = g.sites.indexOf(g.best.site);
  const c = g.positions.indexOf(g.best.position);
  if (r >= 0 && c >= 0) return { row: r, col: c };
  let out: { row: number; col: number } | null = null;
  let top = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < g.sites.length; i++)
    for (let j = 0; j < g.positions.length; j++) {
      const v = g.grid[i]?.[j] ?? Number.NaN;
      if (Number.isFinite(v) && v > top) {
        top = v;
        out = { row: i, col: j };
      }
    }
  return out;
};

export const heatmapSvg = (g: IiaGrid, opts: HeatmapOptions = {}): HeatmapSvg => {
  const maxWidth = opts.maxWidth ?? 1060;
  const minCell = opts.minCell ?? 8;
  const maxCell = opts.maxCell ?? 48;
  const nRows = g.sites.length;
  const nCols = g.positions.length;
  const charW = 6.3; // ~ width of a character at font-size 11
  const siteMax = 28;
  const posMax = 12;
  const L = 10 + Math.min(siteMax, Math.max(4, ...g.sites.map((s) => s.length))) * charW;
  const R = 24;
  const gap = 10;
  const cw = Math.max(minCell, Math.min(maxCell, Math.floor((maxWidth - L - R - gap) / (nCols + 1))));
  const ch = Math.max(12, Math.min(32, cw));
  const posLen = Math.min(posMax, Math.max(3, ...g.positions.map((p) => p.length), "max (MIB)".length));
  const rotate = Math.max(...g.positions.map((p) => Math.min(posMax, p.length)), 0) * charW > cw - 4;
  const labelFs = Math.max(7, Math.min(11, cw * 0.9));
  const headH = rotate ? posLen * charW * (labelFs / 11) * 0.87 + 12 : 18;
  const T = 28 + headH;
  const gridW = nCols * cw;
  const gridBottom = T + nRows * ch;
  const colX = L + gridW + gap; // the per-layer max column
  const mibText = `(of the per-layer max): mean ${fmt(g.mean)} · max ${fmt(g.max)} · best ${g.best.site} @ ${g.best.position} = ${fmt(g.best.iia)}`;
  const W = Math.max(
    480,
    Math.ceil(colX + cw + R + (rotate ? 0 : 30)),
    Math.ceil(L + (mibText.length + 12) * 6.7),
  );
  const H = Math.ceil(gridBottom + 86);
  const fs = Math.min(11, (cw - 3) / 2.4, ch - 3);
  const labels = fs >= 7;
  const best = bestCell(g);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(`IIA per site and position for ${g.variable}`)}" font-family="Helvetica, Arial, sans-serif" font-size="11" data-rows="${nRows}" data-cols="${nCols}">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${n2(L)}" y="16" font-size="12"><tspan font-weight="bold">IIA</tspan> ${esc(`of ${g.variable}: rows = sites, columns = positions`)}</text>`,
  ];
  const colLabel = (x: number, text: string, cls: string, bold: boolean) => {
    const t = short(text, posMax);
    const title = t === text ? "" : `<title>${esc(text)}</title>`;
    const weight = bold ? ' font-weight="bold"' : "";
    return rotate
      ? `<text class="${cls}" transform="translate(${n2(x + 3)} ${n2(T - 5)}) rotate(-60)" font-size="${n2(labelFs)}"${weight}>${esc(t)}${title}</text>`
      : `<text class="${cls}" x="${n2(x)}" y="${n2(T - 6)}" text-anchor="middle"${weight}>${esc(t)}${title}</text>`;
  };
  for (const [j, p] of g.positions.entries())
    out.push(colLabel(L + j * cw + cw / 2, p, "position", best !== null && best.col === j));
  out.push(colLabel(colX + cw / 2, "max (MIB)", "perlayer-head", false));
  g.sites.forEach((s, i) => {
    const t = short(s, siteMax);
    out.push(
      `<text class="site" x="${n2(L - 6)}" y="${n2(T + i * ch + ch / 2 + 4)}" text-anchor="end"${best !== null && best.row === i ? ' font-weight="bold"' : ""}>${esc(t)}${t === s ? "" : `<title>${esc(s)}</title>`}</text>`,
    );
  });
  const cell = (cls: string, x: number, y: number, v: number, tip: string, extra = "") => {
    const shown = Number.isFinite(v) ? fmt(v, 2) : "—";
    out.push(
      `<rect class="${cls}" x="${n2(x)}" y="${n2(y)}" width="${n2(cw)}" height="${n2(ch)}" fill="${iiaColor(v)}" stroke="#ffffff" stroke-width="${cw >= 12 ? 1 : 0.5}" data-iia="${Number.isFinite(v) ? String(v) : ""}"${extra}><title>${esc(tip)}</title></rect>`,
    );
    if (labels)
      out.push(
        `<text class="${cls.split(" ")[0]}-label" x="${n2(x + cw / 2)}" y="${n2(y + ch / 2 + fs * 0.35)}" text-anchor="middle" font-size="${n2(fs)}" fill="${inkOn(v)}" pointer-events="none">${esc(shown)}</text>`,
      );
  };
  for (const [i, s] of g.sites.entries())
    for (const [j, p] of g.positions.entries()) {
      const v = g.grid[i]?.[j] ?? Number.NaN;
      const isBest = best !== null && best.row === i && best.col === j;
      cell(
        isBest ? "iia best-cell" : "iia",
        L + j * cw,
        T + i * ch,
        v,
        `${s} @ ${p}: IIA ${fmt(v)}${isBest ? " (best)" : ""}`,
        ` data-row="${i}" data-col="${j}"`,
      );
    }
  g.sites.forEach((s, i) => {
    const v = g.perLayer[i] ?? rowMax(g.grid[i]);
    cell(
      "perlayer",
      colX,
      T + i * ch,
      v,
      `${s}: max over positions ${fmt(v)} (MIB per-layer)`,
      ` data-row="${i}"`,
    );
  });
  if (best !== null) {
    const x = L + best.col * cw;
    const y = T + best.row * ch;
    out.push(
      `<rect class="best" x="${n2(x)}" y="${n2(y)}" width="${n2(cw)}" height="${n2(ch)}" fill="none" stroke="#000000" stroke-width="3" pointer-events="none"/>`,
      `<rect x="${n2(x + 2)}" y="${n2(y + 2)}" width="${n2(Math.max(0, cw - 4))}" height="${n2(Math.max(0, ch - 4))}" fill="none" stroke="#ffffff" stroke-width="1" pointer-events="none"/>`,
    );
  }
  // mean / max over layers, then the legend
  const y1 = gridBottom + 20;
  out.push(
    `<text class="mib" x="${n2(L)}" y="${n2(y1)}" font-size="12"><tspan font-weight="bold">over layers</tspan> ${esc(mibText)}</text>`,
  );
  const lx = L;
  const ly = y1 + 18;
  const lw = 200;
  const steps = 40;
  for (let k = 0; k < steps; k++)
    out.push(
      `<rect class="legend" x="${n2(lx + (k * lw) / steps)}" y="${n2(ly)}" width="${n2(lw / steps + 0.3)}" height="10" fill="${iiaColor((k + 0.5) / steps)}"/>`,
    );
  out.push(`<rect x="${n2(lx)}" y="${n2(ly)}" width="${lw}" height="10" fill="none" stroke="#888"/>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1])
    out.push(
      `<line x1="${n2(lx + t * lw)}" x2="${n2(lx + t * lw)}" y1="${n2(ly + 10)}" y2="${n2(ly + 14)}" stroke="#555"/>`,
      `<text x="${n2(lx + t * lw)}" y="${n2(ly + 25)}" text-anchor="middle" font-size="10">${n2(t)}</text>`,
    );
  out.push(
    `<text class="legend-note" x="${n2(lx + lw + 12)}" y="${n2(ly + 9)}" font-size="11" fill="#444">IIA, fixed 0–1 scale (viridis)</text>`,
    `<rect x="${n2(lx + lw + 12)}" y="${n2(ly + 15)}" width="12" height="10" fill="none" stroke="#000" stroke-width="2"/>`,
    `<text x="${n2(lx + lw + 30)}" y="${n2(ly + 24)}" font-size="11" fill="#444">best (site, position)${labels ? "" : " · hover a cell for its value"}</text>`,
    "</svg>",
  );
  return { svg: out.join("\n"), cellWidth: cw, cellHeight: ch, labels, best };
};

/**
 * A colour scale for `valueHeatmapSvg`: "sequential" maps [lo, hi] onto viridis (as the IIA
 * scale does for 0–1), "diverging" maps [lo, 0, hi] onto blue–white–red (for signed values such
 * as logit attributions; 0 is white whatever the range).
 */
export type ColorScale = "sequential" | "diverging";

const mix = (a: string, b: string, t: number): string => {
  const x = rgb(a);
  const y = rgb(b);
  return `#${x.map((xi, k) => hex2(xi + (y[k]! - xi) * Math.max(0, Math.min(1, t)))).join("")}`;
};

/** The colour of v on a scale over [lo, hi] (clamped). */
export const scaleColor = (v: number, lo: number, hi: number, scale: ColorScale): string => {
  if (!Number.isFinite(v)) return IIA_MISSING;
  if (scale === "sequential") return iiaColor(hi > lo ? (v - lo) / (hi - lo) : 0.5);
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  return v >= 0 ? mix("#ffffff", "#b2182b", v / m) : mix("#ffffff", "#2166ac", -v / m);
};

const inkOnScale = (v: number, lo: number, hi: number, scale: ColorScale): string => {
  if (!Number.isFinite(v)) return "#111111";
  if (scale === "sequential") return inkOn(hi > lo ? (v - lo) / (hi - lo) : 0.5);
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  return Math.abs(v) / m > 0.6 ? "#ffffff" : "#111111";
};

export interface ValueGrid {
  /** what the values are (the chart's title and aria label) */
  readonly title: string;
  readonly rows: readonly string[];
  readonly cols: readonly string[];
  /** [row][col] */
  readonly values: readonly (readonly number[])[];
  /** the legend's caption, e.g. "logit difference contribution" */
  readonly legend: string;
}

/**
 * A heatmap of any matrix on a given value range and colour scale (default: the values' own
 * range; for "diverging", symmetric around 0). The IIA heatmap above keeps its fixed 0–1 scale;
 * this one draws DLA per (layer, head), attention rollout and the like.
 */
export const valueHeatmapSvg = (
  g: ValueGrid,
  opts: HeatmapOptions & { readonly range?: readonly [number, number]; readonly scale?: ColorScale } = {},
): HeatmapSvg => {
  const scale = opts.scale ?? "sequential";
  const finite = g.values.flat().filter(Number.isFinite);
  const vmax = finite.length > 0 ? Math.max(...finite) : 1;
  const vmin = finite.length > 0 ? Math.min(...finite) : 0;
  const m = Math.max(Math.abs(vmin), Math.abs(vmax)) || 1;
  const [lo, hi] = opts.range ?? (scale === "diverging" ? [-m, m] : [vmin, vmax > vmin ? vmax : vmin + 1]);
  const maxWidth = opts.maxWidth ?? 1060;
  const minCell = opts.minCell ?? 8;
  const maxCell = opts.maxCell ?? 44;
  const charW = 6.3;
  const L = 10 + Math.min(24, Math.max(3, ...g.rows.map((s) => s.length))) * charW;
  const R = 20;
  const cw = Math.max(
    minCell,
    Math.min(maxCell, Math.floor((maxWidth - L - R) / Math.max(1, g.cols.length))),
  );
  const ch = Math.max(12, Math.min(30, cw));
  const rotate = Math.max(0, ...g.cols.map((c) => Math.min(10, c.length))) * charW > cw - 4;
  const headH = rotate ? Math.max(...g.cols.map((c) => Math.min(10, c.length))) * charW * 0.87 + 12 : 18;
  const T = 26 + headH;
  const gridBottom = T + g.rows.length * ch;
  const legendChars = g.legend.length + 40;
  const W = Math.max(
    420,
    Math.ceil(L + g.cols.length * cw + R),
    Math.ceil(L + (g.title.length + 4) * 6.7),
    Math.ceil(L + 212 + legendChars * 6),
  );
  const H = Math.ceil(gridBottom + 50);
  const fs = Math.min(11, (cw - 3) / 2.6, ch - 3);
  const labels = fs >= 7;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap values" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(g.title)}" font-family="Helvetica, Arial, sans-serif" font-size="11" data-rows="${g.rows.length}" data-cols="${g.cols.length}">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${n2(L)}" y="16" font-size="12" font-weight="bold">${esc(g.title)}</text>`,
  ];
  for (const [j, c] of g.cols.entries()) {
    const t = short(c, 10);
    const x = L + j * cw + cw / 2;
    out.push(
      rotate
        ? `<text class="col" transform="translate(${n2(x + 3)} ${n2(T - 5)}) rotate(-60)" font-size="10">${esc(t)}</text>`
        : `<text class="col" x="${n2(x)}" y="${n2(T - 6)}" text-anchor="middle">${esc(t)}</text>`,
    );
  }
  for (const [i, r] of g.rows.entries())
    out.push(
      `<text class="row" x="${n2(L - 6)}" y="${n2(T + i * ch + ch / 2 + 4)}" text-anchor="end">${esc(short(r, 24))}</text>`,
    );
  for (const [i, r] of g.rows.entries())
    for (const [j, c] of g.cols.entries()) {
      const v = g.values[i]?.[j] ?? Number.NaN;
      const x = L + j * cw;
      const y = T + i * ch;
      out.push(
        `<rect class="value" x="${n2(x)}" y="${n2(y)}" width="${n2(cw)}" height="${n2(ch)}" fill="${scaleColor(v, lo, hi, scale)}" stroke="#ffffff" stroke-width="${cw >= 12 ? 1 : 0.5}" data-row="${i}" data-col="${j}" data-value="${Number.isFinite(v) ? String(v) : ""}"><title>${esc(`${r} · ${c}: ${fmt(v, 4)}`)}</title></rect>`,
      );
      if (labels)
        out.push(
          `<text x="${n2(x + cw / 2)}" y="${n2(y + ch / 2 + fs * 0.35)}" text-anchor="middle" font-size="${n2(fs)}" fill="${inkOnScale(v, lo, hi, scale)}" pointer-events="none">${esc(Number.isFinite(v) ? fmt(v, Math.abs(v) >= 10 ? 1 : 2) : "—")}</text>`,
        );
    }
  const lx = L;
  const ly = gridBottom + 12;
  const lw = 200;
  const steps = 40;
  for (let k = 0; k < steps; k++) {
    const v = lo + ((k + 0.5) / steps) * (hi - lo);
    out.push(
      `<rect class="legend" x="${n2(lx + (k * lw) / steps)}" y="${n2(ly)}" width="${n2(lw / steps + 0.3)}" height="10" fill="${scaleColor(v, lo, hi, scale)}"/>`,
    );
  }
  out.push(
    `<rect x="${n2(lx)}" y="${n2(ly)}" width="${lw}" height="10" fill="none" stroke="#888"/>`,
    `<text x="${n2(lx)}" y="${n2(ly + 24)}" font-size="10">${esc(fmt(lo, 2))}</text>`,
    `<text x="${n2(lx + lw)}" y="${n2(ly + 24)}" font-size="10" text-anchor="end">${esc(fmt(hi, 2))}</text>`,
    `<text class="legend-note" x="${n2(lx + lw + 12)}" y="${n2(ly + 9)}" font-size="11" fill="#444">${esc(`${g.legend} (${scale === "diverging" ? "blue < 0 < red" : "viridis"})${labels ? "" : " · hover a cell for its value"}`)}</text>`,
    "</svg>",
  );
  return { svg: out.join("\n"), cellWidth: cw, cellHeight: ch, labels, best: null };
};
