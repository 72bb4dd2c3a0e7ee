import { loadModel } from "@patchbay/core/weights";
import type { ModelConfig } from "@patchbay/core/model";
import { Effect } from "effect";
import { type Cell, expandCells, type LoadedExperiment } from "../spec/load.ts";
import { kindOfSpec } from "../kinds/index.ts";
import type { ExperimentFileError } from "../spec/schema.ts";
import { type CellInput, cellIdentity } from "./cell.ts";
import type { CellError } from "./cell-errors.ts";

/** A cell with its input and its id: what `run` computes and `validate` prints. */
export interface PlannedCell {
  readonly cell: Cell;
  readonly input: CellInput;
  readonly cellId: string;
}

/**
 * The cells with their ids, and everything a run checks before its first cell: every model
 * resolves and loads, every task (file or generator) and counterfactual family exists, every site
 * and position a method names exists in its model. Loads weights and data to hash them; builds no
 * ORT session. `run` and `validate` both plan with this, so the ids `validate` prints are the
 * ones `run` uses.
 *
 * Returns `{ cell, input, cellId }` per cell.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, planCells } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const planned = await Effect.runPromise(planCells(loaded));
 * assert.equal(planned.length, 1);
 * assert.match(planned[0]!.cellId, /^[0-9a-f]{64}$/);
 * ```
 */
export const planCells = (
  loaded: LoadedExperiment,
): Effect.Effect<readonly PlannedCell[], ExperimentFileError | CellError> =>
  Effect.gen(function* () {
    const cells = yield* expandCells(loaded);
    const configs = new Map<string, ModelConfig>();
    const configOf = (path: string) =>
      Effect.gen(function* () {
        const known = configs.get(path);
        if (known !== undefined) return known;
        const { config } = yield* loadModel(path);
        configs.set(path, config);
        return config;
      });
    const out: PlannedCell[] = [];
    for (const cell of cells) {
      const input: CellInput = { spec: cell.spec, baseDir: loaded.baseDir };
      const id = yield* cellIdentity(input);
      const where = cells.length > 1 ? ` (cell ${cell.index + 1}/${cells.length})` : "";
      yield* kindOfSpec(cell.spec).check(cell.spec, { baseDir: loaded.baseDir, where, configOf });
      out.push({ cell, input, cellId: id.cellId });
    }
    return out;
  });
