/**
 * How big an experiment may be before anything is expanded, loaded or computed. A file that asks
 * for 10^10 cells, 10^6 seeds or 10^12 examples per cell is a typed error at once, not a process
 * that hangs or runs out of memory. The defaults are far above what a researcher writes by hand;
 * each is raised on the command line (`run` and `validate`), never by the file itself.
 */
export interface Limits {
  /** cells in all: seeds × the grid's product × the zip's length */
  readonly cells: number;
  /** replicate seeds (`seeds`) */
  readonly seeds: number;
  /** examples per cell: task.n, task.test (causal), data.task.n and data.n (readout) */
  readonly examples: number;
  /** the experiment file's size in bytes (YAML parses at about 1 MB/s) */
  readonly fileBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  cells: 10_000,
  seeds: 100,
  examples: 100_000,
  fileBytes: 1024 * 1024,
};

/** The command-line flag that raises each limit. */
export const LIMIT_FLAGS: Readonly<Record<keyof Limits, string>> = {
  cells: "--max-cells",
  seeds: "--max-seeds",
  examples: "--max-examples",
  fileBytes: "--max-file-bytes",
};

export const num = (n: number | bigint): string => n.toLocaleString("en-US");

/** "at most 10,000; raise with --max-cells N" (the schema's descriptions) */
export const limitNote = (key: keyof Limits): string =>
  `at most ${num(DEFAULT_LIMITS[key])}; raise with ${LIMIT_FLAGS[key]} N`;

/** "at most 10,000 cells (raise the limit with --max-cells N)" */
export const atMost = (limits: Limits, key: keyof Limits, unit: string): string =>
  `at most ${num(limits[key])} ${unit} (raise the limit with ${LIMIT_FLAGS[key]} N)`;

/** What a too-large sweep is, named by the field that made it so; null when it fits. */
export const checkCellCount = (
  limits: Limits,
  counts: { readonly seeds: number; readonly grid: readonly number[]; readonly zip: number },
): { readonly field: string; readonly expected: string; readonly found: string } | null => {
  if (counts.seeds > limits.seeds)
    return {
      field: "seeds",
      expected: atMost(limits, "seeds", "seeds"),
      found: `${num(counts.seeds)} seeds`,
    };
  // a product of the axis lengths, exact (BigInt), never an expansion
  const grid = counts.grid.reduce((a, n) => a * BigInt(n), 1n);
  const total = grid * BigInt(counts.zip) * BigInt(counts.seeds);
  if (total <= BigInt(limits.cells)) return null;
  const parts = `${num(grid)} (sweep.grid: ${counts.grid.length === 0 ? "none" : counts.grid.join(" × ")}) × ${num(counts.zip)} (sweep.zip) × ${num(counts.seeds)} (seeds)`;
  // the field to change: the one that alone exceeds the limit, else the product of them all
  const max = BigInt(limits.cells);
  const field =
    grid > max
      ? "sweep.grid"
      : BigInt(counts.zip) > max
        ? "sweep.zip"
        : BigInt(counts.seeds) > max
          ? "seeds"
          : "sweep × seeds";
  return { field, expected: atMost(limits, "cells", "cells"), found: `${num(total)} cells = ${parts}` };
};

/** The first field of a cell (its kind's `examples`) asking for more examples than the limit, or null. */
export const checkExamples = (
  limits: Limits,
  examples: readonly (readonly [string, number])[],
): { readonly field: string; readonly expected: string; readonly found: string } | null => {
  for (const [field, n] of examples)
    if (n > limits.examples)
      return { field, expected: atMost(limits, "examples", "examples per cell"), found: num(n) };
  return null;
};
