import { resolve } from "node:path";
import { loadModel, type ModelConfig, type PatchbayError } from "@patchbay/core";
import { isBuiltinPath } from "@patchbay/zoo";
import { Effect } from "effect";
import { type Cell, expandCells, type LoadedExperiment } from "../spec/load.ts";
import { type ExperimentFileError, isReadoutSpec } from "../spec/schema.ts";
import { type CellInput, cellIdentity } from "./cell.ts";
import { checkSites } from "./sites.ts";

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
 */
export const planCells = (
  loaded: LoadedExperiment,
): Effect.Effect<readonly PlannedCell[], ExperimentFileError | PatchbayError> =>
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
      // causal cells check their sites and positions while they prepare (cellIdentity, above)
      const spec = cell.spec;
      if (isReadoutSpec(spec)) {
        const path = isBuiltinPath(spec.model) ? spec.model : resolve(loaded.baseDir, spec.model);
        const where = cells.length > 1 ? ` (cell ${cell.index + 1}/${cells.length})` : "";
        const bad = checkSites(spec.method, yield* configOf(path), where);
        if (bad !== null) return yield* bad;
      }
      out.push({ cell, input, cellId: id.cellId });
    }
    return out;
  });
