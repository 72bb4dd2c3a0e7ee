import { esc, raw } from "../../report/html.ts";
import { scaleColor } from "../../report/heatmap.ts";

/** A token coloured by a value on a scale (title: the exact value). */
export const tok = (
  text: string,
  v: number,
  lo: number,
  hi: number,
  scale: "sequential" | "diverging",
  tip: string,
) =>
  raw(
    `<span class="tok" style="background:${scaleColor(v, lo, hi, scale)};color:${scale === "sequential" && Number.isFinite(v) && hi > lo && (v - lo) / (hi - lo) < 0.55 ? "#ffffff" : "#111111"}" title="${esc(tip)}">${esc(text)}</span>`,
  );
