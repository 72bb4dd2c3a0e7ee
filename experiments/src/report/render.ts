import { kindOfResult } from "../kinds/index.ts";
import type { AnyCellResult } from "../kinds/index.ts";
import { page } from "./page.ts";

/**
 * Self-contained HTML reports (no external assets, no scripts; inline CSS and SVG): one page per
 * sweep cell (here), and one page per run (run-page.ts). Each kind of cell has its own section
 * layout (kinds/<kind>/report.ts).
 */

/** What the report reads from a run's manifest.json (the store writes more). */
export interface RunManifest {
  readonly runId: string;
  readonly spec: unknown;
  /** the run's cell ids, in sweep order */
  readonly cells: readonly string[];
  /** phase / cell → seconds */
  readonly timings?: Readonly<Record<string, number>>;
  /** cell id → seconds it took (the run store's `timings.cells[id].seconds`) */
  readonly cellSeconds?: Readonly<Record<string, number>>;
}

/** A cell's own page, laid out by its kind. */
export const renderCellReport = async (
  result: AnyCellResult,
  opts: { readonly seconds?: number } = {},
): Promise<string> => {
  const kind = kindOfResult(result);
  return page(
    `patchbay cell: ${result.method} on ${result.model.name}`,
    `cell ${result.cellId}`,
    await kind.report.body(result, { headingLevel: "h2", idPrefix: "", ...opts }),
    kind.report.css.join(""),
  );
};
