import { attempt, InputError } from "@patchbay/core/errors";
import { Effect } from "effect";
import type { CellOutcome } from "../run/cell.ts";
import type { CellError } from "../run/cell-errors.ts";
import { openedSetup } from "./opened.ts";
import { type BatchInput, batchIdOf, setupIdOf, unpackMask } from "./spec.ts";

/**
 * Evaluate one part of an ACDC batch (the job a queue worker's thread runs for it): the setup is
 * opened once per worker thread and kept across the batches of the same setup (opened.ts), its
 * id checked against the weights and data loaded, the masks unpacked and measured by circuits'
 * downstreamRows, the function the local ACDC runs. Nothing is written: the per-example metrics
 * go back through the queue (`metrics`).
 */
export const runBatchJob = (input: BatchInput, jobId: string): Effect.Effect<CellOutcome, CellError> =>
  Effect.gen(function* () {
    const t0 = performance.now();
    const o = yield* openedSetup(input);
    const id = setupIdOf(input.spec, o.weightsHash, o.datasetHash, o.version);
    if (id !== input.setupId)
      return yield* new InputError({
        field: "setup id",
        expected: `${input.setupId} (the coordinator's; model or task changed since?)`,
        found: id,
      });
    if (batchIdOf(input) !== jobId)
      return yield* new InputError({
        field: "batch id",
        expected: `${batchIdOf(input)} (the hash of the batch's setup, layer and masks)`,
        found: jobId,
      });
    const S = o.setup.layout.sources.length;
    const D = o.setup.layout.destinations.length;
    if (input.entries !== S * D)
      return yield* new InputError({
        field: "entries",
        expected: `S·D = ${S * D} entries per mask`,
        found: String(input.entries),
      });
    const masks = yield* attempt(
      () => input.masks.map((m, i) => unpackMask(m, input.entries, i)),
      InputError,
    );
    const rows = yield* o.rows();
    const r = yield* rows.evaluate(input.layer, masks);
    return {
      cellId: jobId,
      skipped: false,
      seconds: (performance.now() - t0) / 1000,
      path: "",
      metrics: { perExample: Array.from(r.perExample), runs: r.runs },
    };
  });
