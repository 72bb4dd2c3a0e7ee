/** Plain-text tables for the CLI: what `run` prints, one row per cell (each kind has its own columns). */

export const fmt = (x: number | null | undefined, d = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(d);

export const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

export const table = (
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: ReadonlySet<number>,
) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)].join("\n");
};

/** A cell's time: "cached" when it was already in the store. */
export const timeOf = (c: { readonly skipped: boolean; readonly seconds: number | null }): string =>
  c.skipped ? "cached" : c.seconds === null ? "—" : `${c.seconds.toFixed(2)} s`;
