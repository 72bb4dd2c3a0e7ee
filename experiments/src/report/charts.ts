import { esc, fmt, n2 } from "./html.ts";

/**
 * Inline SVG charts: the faithfulness curve over the edge-fraction grid (log x, as MIB's grid
 * spans 0.1 % … 100 %; CPR and CMD are the linear-x areas MIB defines) and the per-example
 * faithfulness spread as a box plot (whiskers min–max, box IQR, median bar, mean diamond).
 */

export const niceTicks = (lo: number, hi: number, count = 5): number[] => {
  const span = hi - lo || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  return ticks;
};

/** Tick labels with as many decimals as the ticks need (0.001 stays 0.001, never "0"). */
export const tickLabels = (ticks: readonly number[]): string[] => {
  let d = 0;
  while (d < 8 && !ticks.every((t) => Number(t.toFixed(d)) === t)) d++;
  return ticks.map((t) => t.toFixed(d));
};

/** Ticks with their labels. */
const labeledTicks = (lo: number, hi: number, count = 5): { t: number; label: string }[] => {
  const ts = niceTicks(lo, hi, count);
  const ls = tickLabels(ts);
  return ts.map((t, i) => ({ t, label: ls[i]! }));
};

const pct = (x: number) => {
  const p = x * 100;
  return `${p >= 1 ? n2(Number(p.toPrecision(3))) : p.toPrecision(1)}%`;
};

/** y range covering 0 and 1 and every value, padded a little. */
const yRange = (values: readonly number[]): [number, number] => {
  const finite = values.filter(Number.isFinite);
  const lo = Math.min(0, ...finite);
  const hi = Math.max(1, ...finite);
  const pad = (hi - lo) * 0.06;
  return [lo - pad, hi + pad];
};

/** Faithfulness over circuit sizes (a circuit cell's `curve`): the grid of fractions and its CPR and CMD. */
export interface FaithfulnessCurve {
  readonly fractions: readonly number[];
  readonly edges: readonly number[];
  readonly faithfulness: readonly number[];
  readonly cpr: number;
  readonly cmd: number;
}

/** The spread of per-example values: quartiles, median and range. */
export interface Spread {
  readonly median: number;
  readonly q25: number;
  readonly q75: number;
  readonly min: number;
  readonly max: number;
}

export const curveSvg = (
  curve: FaithfulnessCurve,
  selected?: { fraction: number; faithfulness: number; edges: number },
): string => {
  const W = 560;
  const H = 300;
  const L = 56;
  const R = 20;
  const T = 30;
  const B = 44;
  const xs = curve.fractions;
  const ys = curve.faithfulness;
  const logX = xs.every((x) => x > 0);
  const tx = (x: number) => (logX ? Math.log10(x) : x);
  const points = xs.map((x, i) => ({ x, y: ys[i]!, edges: curve.edges[i] ?? Number.NaN }));
  const xDom = [Math.min(...xs.map(tx)), Math.max(...xs.map(tx))] as const;
  const [y0, y1] = yRange([...ys, ...(selected ? [selected.faithfulness] : [])]);
  const sx = (x: number) => L + ((tx(x) - xDom[0]) / (xDom[1] - xDom[0] || 1)) * (W - L - R);
  const sy = (y: number) => T + ((y1 - y) / (y1 - y0)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart curve" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="faithfulness curve" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
  ];
  // grid and axes
  for (const { t, label } of labeledTicks(y0, y1)) {
    out.push(
      `<line x1="${L}" x2="${W - R}" y1="${n2(sy(t))}" y2="${n2(sy(t))}" stroke="${t === 0 || t === 1 ? "#999" : "#e6e6e6"}"${t === 1 ? ' stroke-dasharray="4 3"' : ""}/>`,
      `<text x="${L - 6}" y="${n2(sy(t) + 4)}" text-anchor="end">${esc(label)}</text>`,
    );
  }
  for (const x of xs)
    out.push(
      `<line x1="${n2(sx(x))}" x2="${n2(sx(x))}" y1="${T}" y2="${H - B}" stroke="#f0f0f0"/>`,
      `<text x="${n2(sx(x))}" y="${H - B + 14}" text-anchor="middle" font-size="10">${esc(pct(x))}</text>`,
    );
  out.push(
    `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">fraction of edges kept${logX ? " (log scale)" : ""}</text>`,
    `<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">faithfulness</text>`,
  );
  const finite = points.filter((p) => Number.isFinite(p.y));
  if (finite.length > 0) {
    const base = sy(Math.max(y0, Math.min(y1, 0)));
    const line = finite.map((p, i) => `${i === 0 ? "M" : "L"} ${n2(sx(p.x))} ${n2(sy(p.y))}`).join(" ");
    out.push(
      `<path class="area" d="${line} L ${n2(sx(finite.at(-1)!.x))} ${n2(base)} L ${n2(sx(finite[0]!.x))} ${n2(base)} Z" fill="#0072B2" fill-opacity="0.08"/>`,
      `<path class="line" d="${line}" fill="none" stroke="#0072B2" stroke-width="2"/>`,
    );
    for (const p of finite)
      out.push(
        `<circle class="point" cx="${n2(sx(p.x))}" cy="${n2(sy(p.y))}" r="3.5" fill="#0072B2"><title>${esc(`${pct(p.x)} of edges (${p.edges} edges): faithfulness ${fmt(p.y)}`)}</title></circle>`,
      );
  }
  if (selected && Number.isFinite(selected.faithfulness) && selected.fraction > 0) {
    const cx = sx(Math.max(xs[0]!, Math.min(xs.at(-1)!, selected.fraction)));
    const cy = sy(selected.faithfulness);
    out.push(
      `<path class="selected" d="M ${n2(cx)} ${n2(cy - 7)} L ${n2(cx + 7)} ${n2(cy)} L ${n2(cx)} ${n2(cy + 7)} L ${n2(cx - 7)} ${n2(cy)} Z" fill="#D55E00" stroke="#fff"><title>${esc(`selected circuit: ${selected.edges} edges (${pct(selected.fraction)}), faithfulness ${fmt(selected.faithfulness)}`)}</title></path>`,
    );
  }
  out.push(
    `<text x="${L}" y="16" font-size="12"><tspan font-weight="bold">CPR</tspan> ${esc(fmt(curve.cpr))} (area under f)   <tspan font-weight="bold" dx="14">CMD</tspan> ${esc(fmt(curve.cmd))} (area under |1 − f|)</text>`,
    `<text x="${W - R}" y="16" font-size="11" text-anchor="end" fill="#555"><tspan fill="#0072B2">●</tspan> top-k circuits  <tspan fill="#D55E00" dx="8">◆</tspan> selected</text>`,
    "</svg>",
  );
  return out.join("\n");
};

export const spreadSvg = (s: Spread, mean: number, label = "per-example faithfulness"): string => {
  const W = 560;
  const H = 110;
  const L = 20;
  const R = 20;
  const [x0, x1] = yRange([s.min, s.max, s.q25, s.q75, s.median, mean]);
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const cy = 44;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart spread" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
  ];
  for (const { t, label } of labeledTicks(x0, x1, 8))
    out.push(
      `<line x1="${n2(sx(t))}" x2="${n2(sx(t))}" y1="12" y2="${H - 30}" stroke="${t === 0 || t === 1 ? "#999" : "#eeeeee"}"${t === 1 ? ' stroke-dasharray="4 3"' : ""}/>`,
      `<text x="${n2(sx(t))}" y="${H - 16}" text-anchor="middle">${esc(label)}</text>`,
    );
  const ok = [s.min, s.q25, s.median, s.q75, s.max].every(Number.isFinite);
  if (ok)
    out.push(
      `<line x1="${n2(sx(s.min))}" x2="${n2(sx(s.max))}" y1="${cy}" y2="${cy}" stroke="#333"/>`,
      `<line x1="${n2(sx(s.min))}" x2="${n2(sx(s.min))}" y1="${cy - 8}" y2="${cy + 8}" stroke="#333"/>`,
      `<line x1="${n2(sx(s.max))}" x2="${n2(sx(s.max))}" y1="${cy - 8}" y2="${cy + 8}" stroke="#333"/>`,
      `<rect class="iqr" x="${n2(sx(s.q25))}" y="${cy - 14}" width="${n2(Math.max(1, sx(s.q75) - sx(s.q25)))}" height="28" fill="#cfe2f3" stroke="#0072B2"><title>${esc(`IQR ${fmt(s.q25)} – ${fmt(s.q75)}`)}</title></rect>`,
      `<line class="median" x1="${n2(sx(s.median))}" x2="${n2(sx(s.median))}" y1="${cy - 14}" y2="${cy + 14}" stroke="#0072B2" stroke-width="3"><title>${esc(`median ${fmt(s.median)}`)}</title></line>`,
    );
  if (Number.isFinite(mean))
    out.push(
      `<path class="mean" d="M ${n2(sx(mean))} ${cy - 6} l 6 6 l -6 6 l -6 -6 Z" fill="#D55E00"><title>${esc(`mean ${fmt(mean)}`)}</title></path>`,
    );
  out.push(
    `<text x="${W - R}" y="${H - 2}" text-anchor="end" fill="#555">${esc(`min ${fmt(s.min)} · q25 ${fmt(s.q25)} · median ${fmt(s.median)} · q75 ${fmt(s.q75)} · max ${fmt(s.max)} · mean ◆ ${fmt(mean)}`)}</text>`,
    "</svg>",
  );
  return out.join("\n");
};

const fmtLoss = (x: number) => (Math.abs(x) >= 1e-3 || x === 0 ? fmt(x, 4) : x.toExponential(2));

/** One step of a training curve; `size` is boundless DAS's learned subspace size at that step. */
export interface LossPoint {
  readonly step: number;
  readonly loss: number;
  readonly size?: number;
}

/**
 * A training curve: loss per step (left axis, blue line) and, when the steps carry one, the
 * learned subspace size of boundless DAS (right axis, orange dashed line) on the same x axis.
 */
export const lossCurveSvg = (curve: readonly LossPoint[], label = "training loss"): string => {
  const pts = curve.filter((p) => Number.isFinite(p.step));
  const sized = pts.filter((p) => p.size !== undefined && Number.isFinite(p.size));
  const hasSize = sized.length > 0;
  const W = 560;
  const H = 280;
  const L = 56;
  const R = hasSize ? 56 : 20;
  const T = 30;
  const B = 44;
  const losses = pts.map((p) => p.loss).filter(Number.isFinite);
  const steps = pts.map((p) => p.step);
  const xLo = steps.length > 0 ? Math.min(...steps) : 0;
  const xHi = steps.length > 0 ? Math.max(...steps) : 1;
  const lLo = Math.min(0, ...losses);
  const lHi = Math.max(lLo + 1e-9, ...losses);
  const lPad = (lHi - lLo) * 0.06 || 0.5;
  const [y0, y1] = [lLo - (lLo < 0 ? lPad : 0), lHi + lPad];
  const sizes = sized.map((p) => p.size!);
  const sHi = hasSize ? Math.max(1, ...sizes) * 1.06 : 1;
  const sx = (x: number) => L + ((x - xLo) / (xHi - xLo || 1)) * (W - L - R);
  const sy = (y: number) => T + ((y1 - y) / (y1 - y0 || 1)) * (H - T - B);
  const sz = (s: number) => T + ((sHi - s) / sHi) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart loss" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
  ];
  for (const { t, label } of labeledTicks(y0, y1))
    out.push(
      `<line x1="${L}" x2="${W - R}" y1="${n2(sy(t))}" y2="${n2(sy(t))}" stroke="${t === 0 ? "#999" : "#e6e6e6"}"/>`,
      `<text x="${L - 6}" y="${n2(sy(t) + 4)}" text-anchor="end">${esc(label)}</text>`,
    );
  for (const { t, label } of labeledTicks(xLo, xHi, 6))
    out.push(
      `<line x1="${n2(sx(t))}" x2="${n2(sx(t))}" y1="${T}" y2="${H - B}" stroke="#f0f0f0"/>`,
      `<text x="${n2(sx(t))}" y="${H - B + 14}" text-anchor="middle" font-size="10">${esc(label)}</text>`,
    );
  if (hasSize)
    for (const { t, label } of labeledTicks(0, sHi))
      out.push(`<text x="${W - R + 6}" y="${n2(sz(t) + 4)}" fill="#D55E00">${esc(label)}</text>`);
  out.push(
    `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">training step</text>`,
    `<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">loss</text>`,
  );
  if (hasSize)
    out.push(
      `<line x1="${W - R}" x2="${W - R}" y1="${T}" y2="${H - B}" stroke="#D55E00"/>`,
      `<text transform="translate(${W - 10} ${(T + H - B) / 2}) rotate(90)" text-anchor="middle" fill="#D55E00">learned size</text>`,
    );
  const dots = pts.length <= 60;
  const finite = pts.filter((p) => Number.isFinite(p.loss));
  if (finite.length > 0) {
    const d = finite.map((p, i) => `${i === 0 ? "M" : "L"} ${n2(sx(p.step))} ${n2(sy(p.loss))}`).join(" ");
    out.push(`<path class="loss" d="${d}" fill="none" stroke="#0072B2" stroke-width="2"/>`);
    if (dots)
      for (const p of finite)
        out.push(
          `<circle class="loss-point" cx="${n2(sx(p.step))}" cy="${n2(sy(p.loss))}" r="2.5" fill="#0072B2"><title>${esc(`step ${p.step}: loss ${fmtLoss(p.loss)}${p.size !== undefined ? `, size ${fmt(p.size, 2)}` : ""}`)}</title></circle>`,
        );
  }
  if (hasSize) {
    const d = sized.map((p, i) => `${i === 0 ? "M" : "L"} ${n2(sx(p.step))} ${n2(sz(p.size!))}`).join(" ");
    out.push(
      `<path class="size" d="${d}" fill="none" stroke="#D55E00" stroke-width="2" stroke-dasharray="5 3"/>`,
    );
    if (dots)
      for (const p of sized)
        out.push(
          `<circle class="size-point" cx="${n2(sx(p.step))}" cy="${n2(sz(p.size!))}" r="2.5" fill="#D55E00"><title>${esc(`step ${p.step}: learned size ${fmt(p.size, 2)}`)}</title></circle>`,
        );
  }
  const last = finite.at(-1);
  out.push(
    `<text x="${L}" y="16" font-size="12"><tspan font-weight="bold">loss</tspan> ${esc(last ? `${fmtLoss(finite[0]!.loss)} → ${fmtLoss(last.loss)} over ${pts.length} steps` : "no finite values")}</text>`,
    `<text x="${W - R}" y="16" font-size="11" text-anchor="end" fill="#555"><tspan fill="#0072B2">━</tspan> loss${hasSize ? ' <tspan fill="#D55E00" dx="8">╍</tspan> learned size (right axis)' : ""}</text>`,
    "</svg>",
  );
  return out.join("\n");
};
