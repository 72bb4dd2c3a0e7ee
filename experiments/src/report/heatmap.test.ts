import { describe, expect, it } from "vitest";
import { causalCells, causalSweepCell, heatmapSvg, IIA_SCALE, iiaColor } from "./index.ts";
import { elements, textOf, titleOf } from "./testing/html.ts";

/** The IIA heatmap of an iia-sweep cell: colours, labels, titles, the best cell, large grids. */
describe("IIA heatmap", () => {
  const { sweep } = causalCells();

  it("the heatmap has a coloured, labelled, titled rect per (site, position) on the fixed 0–1 scale", () => {
    const g = sweep.sweep!;
    const hm = heatmapSvg(g);
    const cells = elements(hm.svg, "rect", "iia");
    expect(cells).toHaveLength(g.sites.length * g.positions.length);
    expect(cells).toHaveLength(24);
    const seen = new Set(cells.map((c) => `${c.attrs["data-row"]},${c.attrs["data-col"]}`));
    expect(seen.size).toBe(24);
    for (const c of cells) {
      const i = Number(c.attrs["data-row"]);
      const j = Number(c.attrs["data-col"]);
      const v = g.grid[i]![j]!;
      expect(Number(c.attrs["data-iia"])).toBe(v);
      expect(c.attrs.fill).toBe(iiaColor(v));
      expect(titleOf(c.inner)).toBe(
        `${g.sites[i]} @ ${g.positions[j]}: IIA ${v.toFixed(3)}${i === 1 && j === 5 ? " (best)" : ""}`,
      );
    }
    // the two ends of the scale: the 1.0 cell is yellow, the 0.0 cell dark purple
    const at = (i: number, j: number) =>
      cells.find((c) => c.attrs["data-row"] === String(i) && c.attrs["data-col"] === String(j))!;
    expect(g.grid[1]![5]).toBe(1);
    expect(g.grid[2]![0]).toBe(0);
    expect(at(1, 5).attrs.fill).toBe(IIA_SCALE.at(-1)![1]);
    expect(at(1, 5).attrs.fill).toBe("#fde725");
    expect(at(2, 0).attrs.fill).toBe(IIA_SCALE[0]![1]);
    expect(at(2, 0).attrs.fill).toBe("#440154");
    // fixed scale: clamped outside 0–1, the same value always the same colour, stops exact
    expect(iiaColor(1.7)).toBe("#fde725");
    expect(iiaColor(-0.2)).toBe("#440154");
    expect(iiaColor(0.5)).toBe("#21918c");
    expect(iiaColor(Number.NaN)).not.toBe(iiaColor(0));
    // in-cell labels: the value to 2 decimals, in row-major order
    expect(hm.labels).toBe(true);
    const labels = elements(hm.svg, "text", "iia-label").map((t) => textOf(t.inner));
    expect(labels).toEqual(g.grid.flatMap((row) => row.map((v) => v.toFixed(2))));
    // row labels are the sites, column labels the positions (escaped in the markup)
    expect(elements(hm.svg, "text", "site").map((t) => textOf(t.inner))).toEqual([...g.sites]);
    expect(elements(hm.svg, "text", "position").map((t) => textOf(t.inner))).toEqual([...g.positions]);
    expect(hm.svg).toContain("L0.resid&lt;post&gt;");
    expect(hm.svg).not.toContain("L0.resid<post>");
    // a legend saying which scale
    expect(hm.svg).toContain("fixed 0–1 scale (viridis)");
  });

  it("the heatmap outlines the best cell and its per-layer max column equals the row maxima", () => {
    const g = sweep.sweep!;
    const hm = heatmapSvg(g);
    expect(hm.best).toEqual({ row: 1, col: 5 });
    const bestCells = elements(hm.svg, "rect", "best-cell");
    expect(bestCells).toHaveLength(1);
    expect(bestCells[0]!.attrs["data-row"]).toBe(String(g.sites.indexOf(g.best.site)));
    expect(bestCells[0]!.attrs["data-col"]).toBe(String(g.positions.indexOf(g.best.position)));
    const outline = elements(hm.svg, "rect", "best");
    expect(outline).toHaveLength(1);
    expect(outline[0]!.attrs.x).toBe(bestCells[0]!.attrs.x);
    expect(outline[0]!.attrs.y).toBe(bestCells[0]!.attrs.y);
    expect(outline[0]!.attrs.fill).toBe("none");
    const perLayer = elements(hm.svg, "rect", "perlayer");
    const rowMaxima = g.grid.map((row) => Math.max(...row));
    expect(perLayer.map((r) => Number(r.attrs["data-iia"]))).toEqual(rowMaxima);
    expect(perLayer.map((r) => r.attrs.fill)).toEqual(rowMaxima.map(iiaColor));
    expect(elements(hm.svg, "text", "perlayer-label").map((t) => textOf(t.inner))).toEqual(
      rowMaxima.map((v) => v.toFixed(2)),
    );
    const mean = rowMaxima.reduce((a, b) => a + b, 0) / rowMaxima.length;
    const mib = textOf(elements(hm.svg, "text", "mib")[0]!.inner);
    expect(mib).toContain(`mean ${mean.toFixed(3)}`);
    expect(mib).toContain(`max ${Math.max(...rowMaxima).toFixed(3)}`);
    // a best cell the grid does not name falls back to the argmax
    const off = heatmapSvg({ ...g, best: { site: "nowhere", position: "?", iia: 1 } });
    expect(off.best).toEqual({ row: 1, col: 5 });
  });

  it("the heatmap stays readable at 12 layers × 40 positions and drops in-cell labels when cells get small", () => {
    const g = causalSweepCell({ sites: 12, positions: 40 }).sweep!;
    const hm = heatmapSvg(g);
    expect(elements(hm.svg, "rect", "iia")).toHaveLength(480);
    const width = Number(/ width="(\d+)"/.exec(hm.svg)![1]);
    expect(width).toBeLessThanOrEqual(1060);
    expect(hm.cellWidth).toBeLessThan(heatmapSvg(sweep.sweep!).cellWidth);
    expect(hm.cellWidth).toBeGreaterThanOrEqual(20);
    expect(hm.labels).toBe(true);
    expect(elements(hm.svg, "text", "iia-label")).toHaveLength(480);
    const wide = heatmapSvg(causalSweepCell({ sites: 12, positions: 120 }).sweep!);
    expect(elements(wide.svg, "rect", "iia")).toHaveLength(1440);
    expect(wide.labels).toBe(false);
    expect(elements(wide.svg, "text", "iia-label")).toHaveLength(0);
    expect(wide.cellWidth).toBeGreaterThanOrEqual(8);
    expect(wide.svg).toContain("hover a cell for its value");
    // tooltips stay when labels go
    for (const c of elements(wide.svg, "rect", "iia"))
      expect(titleOf(c.inner)).toMatch(/ @ .*: IIA \d\.\d{3}/);
  });
});
