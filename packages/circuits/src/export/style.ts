import type { EdgeDestination } from "@patchbay/core/edges";
import type { Circuit } from "../graph/circuit.ts";

/**
 * Drawing conventions shared by DOT and SVG: q/k/v edges coloured by destination kind
 * (Okabe–Ito blue, green, vermillion); other edges dark grey, or crimson for negative scores;
 * stroke width linear in |score| relative to the largest |score| among drawn edges:
 * w = wMin + (wMax − wMin)·|s|/max|s| (wMin when there are no scores).
 */
export const KIND_COLORS = { q: "#0072B2", k: "#009E73", v: "#D55E00" } as const;
export const POSITIVE_COLOR = "#333333";
export const NEGATIVE_COLOR = "#C0143C";

/**
 * The stroke colour of an edge: by q/k/v destination (KIND_COLORS), otherwise by the score's sign.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeColor, KIND_COLORS, NEGATIVE_COLOR } from "@patchbay/circuits";
 *
 * assert.equal(edgeColor("q", 1), KIND_COLORS.q);
 * assert.equal(edgeColor("mlp", -1), NEGATIVE_COLOR);
 * ```
 */
export const edgeColor = (kind: EdgeDestination["kind"], score: number): string =>
  kind === "q" || kind === "k" || kind === "v"
    ? KIND_COLORS[kind]
    : score < 0
      ? NEGATIVE_COLOR
      : POSITIVE_COLOR;

export interface WidthRange {
  readonly min: number;
  readonly max: number;
}

/** Edge index → stroke width, over the in-graph edges. */
export const widthScale = (c: Circuit, range: WidthRange): ((e: number) => number) => {
  const { scores, inGraph } = c;
  if (!scores) return () => range.min;
  let top = 0;
  for (let e = 0; e < inGraph.length; e++)
    if (inGraph[e] && Number.isFinite(scores[e]!)) top = Math.max(top, Math.abs(scores[e]!));
  return (e) => {
    const s = Math.abs(scores[e]!);
    return top === 0 || !Number.isFinite(s) ? range.min : range.min + ((range.max - range.min) * s) / top;
  };
};

/** Escape for XML text and attribute values. */
export const xmlEscape = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[ch]!,
  );

/** Compact number formatting for attributes. */
export const num = (x: number): string =>
  Number.isInteger(x) ? String(x) : x.toFixed(3).replace(/\.?0+$/, "");
