import { resolve } from "node:path";
import { openModel } from "@patchbay/core/runtime";
import { attempt } from "@patchbay/core/errors";
import { isBuiltinPath } from "@patchbay/zoo";
import { Effect, type Scope } from "effect";
import { type CellIdentity, cellEnvelope } from "../../results/envelope.ts";
import { canonicalJson, cellIdOf, patchbayVersion, sha256, weightsHash } from "../../run/hash.ts";
import type { CellRun } from "../kind.ts";
import { datasetOf } from "./data.ts";
import type { Prepared } from "./method.ts";
import { methodOf } from "./methods/lookup.ts";
import type { ReadoutCellResult } from "./result.ts";
import type { ReadoutCellSpec } from "./spec.ts";
import { CELL_ERRORS, type CellError } from "../../run/cell-errors.ts";

/**
 * One readout cell (kind "readout"): open the model, resolve the dataset (a builtin task, texts
 * through the model's tokenizer, or one of the readouts package's built-in datasets), run the
 * method through @patchbay/readouts, and return its JSON plus the files it produced (tuned-lens
 * translators, SAE weights: `artifacts/<cellId>/…`), which the store writes next to the result.
 * A pure function of its serialisable input: every method is seeded, so reruns are byte-identical.
 */
export interface ReadoutCellInput {
  readonly spec: ReadoutCellSpec;
  readonly baseDir: string;
}

const prepare = (input: ReadoutCellInput): Effect.Effect<Prepared, CellError, Scope.Scope> =>
  Effect.gen(function* () {
    const { spec } = input;
    const path = isBuiltinPath(spec.model) ? spec.model : resolve(input.baseDir, spec.model);
    const model = yield* openModel(path, { threads: spec.runtime.threads });
    const data = yield* attempt(() => datasetOf(spec, model), ...CELL_ERRORS);
    const w = weightsHash(model.weights);
    const d = sha256(canonicalJson(data));
    return { model, data, weightsHash: w, datasetHash: d, cellId: cellIdOf(spec, w, d, patchbayVersion()) };
  });

const identityOf = (p: Prepared): CellIdentity => ({
  cellId: p.cellId,
  weightsHash: p.weightsHash,
  datasetHash: p.datasetHash,
  examples: p.data.prompts.length,
  patchbayVersion: patchbayVersion(),
});

export const readoutIdentity = (input: ReadoutCellInput) =>
  Effect.scoped(Effect.map(prepare(input), identityOf));

export const runReadoutCell = (
  input: ReadoutCellInput,
): Effect.Effect<CellRun<ReadoutCellResult>, CellError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const t0 = performance.now();
      const { spec } = input;
      const p = yield* prepare(input);
      const method = methodOf(spec.method);
      const out = yield* method.run(p, spec.method, spec);
      // JSON round trip: what the store writes is what the caller gets (no typed arrays, no -0)
      const result = JSON.parse(
        JSON.stringify({
          ...cellEnvelope("readout", identityOf(p), spec, p.model.config, method.tag),
          result: out.result,
        }),
      ) as ReadoutCellResult;
      return { result, seconds: (performance.now() - t0) / 1000, files: out.files ?? [] };
    }),
  );
