import { downstreamRows, type MaskRows } from "@patchbay/circuits";
import { Effect, Exit, Scope } from "effect";
import { hashWeights, openCircuitSetup, type SetupSpec } from "../kinds/circuit/cell.ts";
import type { CellError } from "../run/cell-errors.ts";
import { datasetHash, patchbayVersion } from "../run/hash.ts";

type Setup = Effect.Effect.Success<ReturnType<typeof openCircuitSetup>>;

/** An edge setup kept open across the jobs of one cell, with the hashes its ids are checked against. */
export interface OpenedSetup extends Setup {
  readonly weightsHash: string;
  readonly datasetHash: string;
  readonly version: string;
  /** ACDC's downstream rows on this setup (the clean streams and the from-L session), made on first use */
  readonly rows: () => Effect.Effect<MaskRows>;
}

/**
 * Which edge setup a spec opens (model, task, ablation, metric, granularity, threads, base
 * folder): a worker thread keeps one such setup at a time, so jobs of one key reuse it.
 */
export const setupKeyOf = (input: { readonly spec: SetupSpec; readonly baseDir: string }): string => {
  const s = input.spec;
  return JSON.stringify([
    s.model,
    s.task,
    s.ablation,
    s.metric,
    s.granularity,
    s.runtime.threads,
    input.baseDir,
  ]);
};

let held: {
  readonly key: string;
  readonly scope: Scope.CloseableScope;
  readonly opened: OpenedSetup;
} | null = null;

/**
 * The setup of `input`, opened once per worker thread and kept while its jobs follow each other:
 * a queue worker's shards of one cell, or a distributed ACDC's batches, reuse the opened model,
 * its sessions (exact patching's blocks, ACDC's clean streams and from-L graph) and the weights'
 * and data's hashes instead of opening the model per job. A job for another setup closes the
 * held one first (one is alive at a time). Files are not watched: a model or task file changed
 * on disk while a worker holds it is seen when another setup comes in between (the ids the
 * scheduler computes from the new files then no longer match, an InputError).
 */
export const openedSetup = (input: {
  readonly spec: SetupSpec;
  readonly baseDir: string;
}): Effect.Effect<OpenedSetup, CellError> =>
  Effect.gen(function* () {
    const key = setupKeyOf(input);
    if (held?.key === key) return held.opened;
    yield* releaseOpenedSetup;
    const scope = yield* Scope.make();
    const opened = yield* Effect.gen(function* () {
      const o = yield* openCircuitSetup(input);
      let rows: MaskRows | null = null;
      const rowsOf = () =>
        rows !== null
          ? Effect.succeed(rows)
          : Effect.tap(Scope.extend(downstreamRows(o.setup), scope), (r) =>
              Effect.sync(() => {
                rows = r;
              }),
            );
      return {
        ...o,
        weightsHash: hashWeights(o.model),
        datasetHash: datasetHash(o.task),
        version: patchbayVersion(),
        rows: rowsOf,
      } satisfies OpenedSetup;
    }).pipe(
      Scope.extend(scope),
      Effect.tapErrorCause(() => Scope.close(scope, Exit.void)),
    );
    held = { key, scope, opened };
    return opened;
  });

/** Close the held setup (its sessions), if any. */
export const releaseOpenedSetup: Effect.Effect<void> = Effect.suspend(() => {
  const h = held;
  held = null;
  return h === null ? Effect.void : Scope.close(h.scope, Exit.void);
});
