import { type EdgeSetup, faithfulness, faithfulnessPerExample, maskFromEdges } from "@patchbay/circuits";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { cleanState, type MaskedState, maskedStart, stepMaskFrom } from "@patchbay/core/patching";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import { Effect, Exit, Scope } from "effect";
import { openCircuitSetup, type SetupSpec } from "../kinds/circuit/cell.ts";
import type { CellError } from "../run/cell-errors.ts";
import { type LayerSessions, makeLayerSessions } from "./layer-sessions.ts";

/**
 * Live patching of one circuit cell: the cell's model and task opened once, then a click runs
 * only what it changes. The cell keeps the edge-masked model's state under the last circuit
 * evaluated (core's MaskedState: the stream entering every layer, every source's output); a new
 * circuit differs from it only in edges into destinations at layer L or later (L: the lowest
 * such destination's layer), so upstream of L nothing changed, and the run starts at L from the
 * kept state (stepMaskFrom, the graph from L compiled once per layer, layer-sessions.ts) and
 * leaves the next state. It equals the whole edge-masked graph on the circuit's mask. The full
 * model's and the empty circuit's metrics per example are measured once when the cell opens.
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
  /** the layer the run started at (nLayers: the logits' edges alone changed) */
  readonly fromLayer: number;
}

/** Sessions of the graph from a start layer kept alive at once (layer-sessions.ts). */
export const LIVE_LAYER_SESSIONS = 4;

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
  /** the graph from each start layer */
  readonly sessions: LayerSessions;
  /** the state under the last circuit evaluated (replaced by each evaluation) */
  readonly last: { state: MaskedState };
}

/** What a cell opens from: its spec's model, task, ablation, metric, granularity; relative paths' folder. */
export interface LiveInput {
  readonly spec: SetupSpec;
  readonly baseDir: string;
}

/**
 * Open a cell for live patching in `scope` (closing the scope releases its sessions), keeping at
 * most `sessions` graphs from a start layer alive.
 */
export const openLiveCell = (
  cellId: string,
  input: LiveInput,
  scope: Scope.Scope,
  sessions = LIVE_LAYER_SESSIONS,
): Effect.Effect<LiveCell, CellError> =>
  Effect.gen(function* () {
    const { setup, model } = yield* Scope.extend(openCircuitSetup(input), scope);
    const E = setup.layout.edges.length;
    const ablated = yield* setup.ablated;
    const clean = yield* cleanState(setup.cache, model, setup.layout, setup.task.clean, ablated);
    // z′'s and the clean run's sessions (a copy of the weights each) are done; the per-prompt view
    // and the explain panel compile their own plans when asked
    yield* setup.cache.evict("plan:");
    const layers = yield* Scope.extend(makeLayerSessions(setup.cache, sessions), scope);
    const full = yield* step(setup, layers, clean, maskFromEdges(setup, new Uint8Array(E).fill(1)));
    const empty = yield* step(setup, layers, clean, maskFromEdges(setup, new Uint8Array(E)));
    const mean = (xs: Float32Array) => xs.reduce((a, x) => a + x, 0) / xs.length;
    return {
      cellId,
      setup,
      tokenizer: model.tokenizer,
      fullPerExample: full.perExample,
      emptyPerExample: empty.perExample,
      full: mean(full.perExample),
      empty: mean(empty.perExample),
      sessions: layers,
      last: { state: empty.state },
    };
  });

/** The run of `mask` from the lowest layer where it differs from `state`'s. */
const step = (setup: EdgeSetup, sessions: LayerSessions, state: MaskedState, mask: Float32Array) =>
  Effect.gen(function* () {
    const { model, layout, task } = setup;
    const layer = maskedStart(model.config, layout, state.mask, mask);
    const r = yield* stepMaskFrom(
      yield* sessions.get(layer),
      model,
      layout,
      task.metric,
      task.clean,
      state,
      yield* setup.ablated,
      setup.binding,
      layer,
      mask,
    );
    return { ...r, layer };
  });

/** The metric and faithfulness of one circuit (one byte per layout edge) on an open cell. */
export const evaluateLive = (
  cell: LiveCell,
  inGraph: Uint8Array,
): Effect.Effect<LiveEvaluation, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const t0 = performance.now();
    const r = yield* step(cell.setup, cell.sessions, cell.last.state, maskFromEdges(cell.setup, inGraph));
    cell.last.state = r.state;
    const m = r.perExample.reduce((a, x) => a + x, 0) / r.perExample.length;
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
      fromLayer: r.layer,
    };
  });

export interface LiveCellsOptions {
  /**
   * ORT intra-op threads for the cells it opens, in place of each cell's `runtime.threads` (the
   * explorer's runs are not stored results; on 2 cores, 2 threads take a GPT-2 click into layer 0
   * from ≈ 1.05 s to ≈ 0.87 s in the browser, BENCHMARKS.md). Absent: each cell's own.
   */
  readonly threads?: number;
}

/**
 * The server's open cells: one at a time (a GPT-2-sized edge graph holds gigabytes), the previous
 * one's sessions released when another opens; requests run one after another.
 */
export const makeLiveCells = (opts: LiveCellsOptions = {}) =>
  Effect.gen(function* () {
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
            const given = yield* input();
            const threads = opts.threads;
            const spec = threads === undefined ? given.spec : { ...given.spec, runtime: { threads } };
            const cell = yield* openLiveCell(cellId, { ...given, spec }, scope).pipe(
              Effect.tapError(() => Scope.close(scope, Exit.void)),
            );
            open = { cell, scope };
          }
          return yield* f(open.cell);
        }),
      );
    return { withCell };
  });
