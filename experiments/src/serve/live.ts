import {
  type EdgeSetup,
  evaluateMasks,
  faithfulness,
  faithfulnessPerExample,
  maskFromEdges,
} from "@patchbay/circuits";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import { Effect, Exit, Scope } from "effect";
import { openCircuitSetup, type SetupSpec } from "../kinds/circuit/cell.ts";
import type { CellError } from "../run/cell-errors.ts";

/**
 * Live patching of one circuit cell: the cell's model and task opened once (its edge-masked graph
 * compiled once), then any circuit is one batched run of that graph with a different mask — no
 * recompile. The full model's and the empty circuit's metrics per example are measured once when
 * the cell opens; each evaluation runs only the circuit's mask.
 *   f(C) = (m(C) − m(∅)) / (m(M) − m(∅))   on the means (MIB), and per example
 * (circuits' faithfulness / faithfulnessPerExample, the numbers `patchbay circuit` reports).
 */
export interface LiveEvaluation {
  /** edges in the circuit */
  readonly edges: number;
  readonly metric: number;
  readonly faithfulness: number;
  /** [N] faithfulness of each example */
  readonly perExample: readonly number[];
  /** [N] metric of each example under the circuit */
  readonly metricPerExample: readonly number[];
  readonly full: number;
  readonly empty: number;
  /** wall time of the run, ms */
  readonly ms: number;
}

export interface LiveCell {
  readonly cellId: string;
  readonly setup: EdgeSetup;
  /** the model's tokenizer, when it has one (the per-prompt view shows token text) */
  readonly tokenizer: Tokenizer | null;
  /** [N] the full model's and the empty circuit's metric per example */
  readonly fullPerExample: Float32Array;
  readonly emptyPerExample: Float32Array;
  readonly full: number;
  readonly empty: number;
}

/** What a cell opens from: its spec's model, task, ablation, metric, granularity; relative paths' folder. */
export interface LiveInput {
  readonly spec: SetupSpec;
  readonly baseDir: string;
}

/** Open a cell for live patching in `scope` (closing the scope releases its sessions). */
export const openLiveCell = (
  cellId: string,
  input: LiveInput,
  scope: Scope.Scope,
): Effect.Effect<LiveCell, CellError> =>
  Effect.gen(function* () {
    const { setup, model } = yield* Scope.extend(openCircuitSetup(input), scope);
    const E = setup.layout.edges.length;
    const r = yield* evaluateMasks(setup, [
      maskFromEdges(setup, new Uint8Array(E).fill(1)),
      maskFromEdges(setup, new Uint8Array(E)),
    ]);
    const N = setup.N;
    return {
      cellId,
      setup,
      tokenizer: model.tokenizer,
      fullPerExample: r.perExample.slice(0, N),
      emptyPerExample: r.perExample.slice(N, 2 * N),
      full: r.mean[0]!,
      empty: r.mean[1]!,
    };
  });

/** The metric and faithfulness of one circuit (one byte per layout edge) on an open cell. */
export const evaluateLive = (
  cell: LiveCell,
  inGraph: Uint8Array,
): Effect.Effect<LiveEvaluation, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const t0 = performance.now();
    const r = yield* evaluateMasks(cell.setup, [maskFromEdges(cell.setup, inGraph)]);
    const m = r.mean[0]!;
    const per = faithfulnessPerExample(r.perExample, cell.emptyPerExample, cell.fullPerExample);
    return {
      edges: inGraph.reduce((a, b) => a + b, 0),
      metric: m,
      faithfulness: faithfulness(m, cell.empty, cell.full),
      perExample: Array.from(per),
      metricPerExample: Array.from(r.perExample),
      full: cell.full,
      empty: cell.empty,
      ms: performance.now() - t0,
    };
  });

/**
 * The server's open cells: one at a time (a GPT-2-sized edge graph holds gigabytes), the previous
 * one's sessions released when another opens; requests run one after another.
 */
export const makeLiveCells = Effect.gen(function* () {
  const lock = yield* Effect.makeSemaphore(1);
  let open: { cell: LiveCell; scope: Scope.CloseableScope } | null = null;
  const closeOpen = Effect.suspend(() => {
    const o = open;
    open = null;
    return o === null ? Effect.void : Scope.close(o.scope, Exit.void);
  });
  yield* Effect.addFinalizer(() => closeOpen);
  const withCell = <A, E, E2>(
    cellId: string,
    input: () => Effect.Effect<LiveInput, E>,
    f: (cell: LiveCell) => Effect.Effect<A, E2>,
  ): Effect.Effect<A, E | E2 | CellError> =>
    lock.withPermits(1)(
      Effect.gen(function* () {
        if (open === null || open.cell.cellId !== cellId) {
          yield* closeOpen;
          const scope = yield* Scope.make();
          const cell = yield* openLiveCell(cellId, yield* input(), scope).pipe(
            Effect.tapError(() => Scope.close(scope, Exit.void)),
          );
          open = { cell, scope };
        }
        return yield* f(open.cell);
      }),
    );
  return { withCell };
});
