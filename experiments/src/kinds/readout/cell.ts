import { resolve } from "node:path";
import { openModel } from "@patchbay/core/runtime";
import { attempt } from "@patchbay/core/errors";
import { isSourcePath } from "@patchbay/core/weights";
import { Effect, type Scope } from "effect";
import { type CellIdentity, cellEnvelope } from "../../results/envelope.ts";
import { withProvenance } from "../../results/model-info.ts";
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
    const path = isSourcePath(spec.model) ? spec.model : resolve(input.baseDir, spec.model);
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

/**
 * The id of a readout cell without running it: `{ cellId, weightsHash, datasetHash, examples, patchbayVersion }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, expandCells, readoutIdentity } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const input = { spec: cell!.spec, baseDir: loaded.baseDir };
 * const id = await Effect.runPromise(readoutIdentity(input as Parameters<typeof readoutIdentity>[0]));
 * assert.match(id.cellId, /^[0-9a-f]{64}$/);
 * ```
 */
export const readoutIdentity = (input: ReadoutCellInput) =>
  Effect.scoped(Effect.map(prepare(input), identityOf));

/**
 * Run one readout cell: open the model, make the data, run the method. Returns `{ result, seconds, files }`; writes nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, expandCells, runReadoutCell } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const input = { spec: cell!.spec, baseDir: loaded.baseDir };
 * const run = await Effect.runPromise(runReadoutCell(input as Parameters<typeof runReadoutCell>[0]));
 * assert.equal(run.result.kind, "readout");
 * ```
 */
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
          ...cellEnvelope(
            "readout",
            identityOf(p),
            spec,
            withProvenance(p.model.config, p.model),
            method.tag,
          ),
          result: out.result,
        }),
      ) as ReadoutCellResult;
      return { result, seconds: (performance.now() - t0) / 1000, files: out.files ?? [] };
    }),
  );
