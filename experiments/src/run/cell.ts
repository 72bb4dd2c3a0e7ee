import { join, resolve } from "node:path";
import { compareToTruth, discover, mibScores, prepareEdges, toMibJson } from "@patchbay/circuits";
import { InputError, isPatchbayError, type OpenModel, openModel, type PatchbayError } from "@patchbay/core";
import { builtinCircuit, isBuiltinPath, readTaskFile, type Task, taskFor } from "@patchbay/zoo";
import { Effect } from "effect";
import type { AnyCellResult, CellResult } from "../results/types.ts";
import {
  type CellSpec,
  type CircuitCellSpec,
  discoveryOf,
  isCausalSpec,
  isReadoutSpec,
} from "../spec/schema.ts";
import { type CellFile, causalIdentity, runCausalCell } from "./causal-cell.ts";
import { readoutIdentity, runReadoutCell } from "./readout-cell.ts";
import { cellIdOf, datasetHash, patchbayVersion, weightsHash } from "./hash.ts";
import { cellPath, formatCellResult, readCellResult, writeAtomic } from "./store.ts";

/**
 * One cell, as plain data: all a worker (thread, process or remote) needs. `baseDir` is the folder
 * relative model and task paths are resolved against (the experiment file's folder).
 */
export interface CellInput {
  readonly spec: CellSpec;
  readonly baseDir: string;
}

/** A cell's identity: its id and the hashes it is made of. */
export interface CellIdentity {
  readonly cellId: string;
  readonly weightsHash: string;
  readonly datasetHash: string;
  readonly examples: number;
  readonly patchbayVersion: string;
}

/** A circuit cell's input (the spec narrowed to its circuit form). */
type CircuitInput = { readonly spec: CircuitCellSpec; readonly baseDir: string };

export const modelPathOf = (input: CircuitInput): string =>
  isBuiltinPath(input.spec.model) ? input.spec.model : resolve(input.baseDir, input.spec.model);

/** Turn what core's synchronous helpers throw (typed errors) into failures; anything else is a defect. */
const typedSync = <A>(f: () => A): Effect.Effect<A, PatchbayError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f());
    } catch (e) {
      return isPatchbayError(e) ? Effect.fail(e) : Effect.die(e);
    }
  });

const loadTask = (input: CircuitInput, model: OpenModel): Effect.Effect<Task, PatchbayError> => {
  const t = input.spec.task;
  return t.kind === "file"
    ? readTaskFile(resolve(input.baseDir, t.file), model.tokenizer ?? undefined, {
        vocabSize: model.config.vocabSize,
        metric: input.spec.metric,
      })
    : typedSync(() => taskFor(t.builtin, { seed: t.seed, n: t.n, options: t.options }));
};

const weightHashes = new WeakMap<object, string>();
const hashWeights = (model: OpenModel): string => {
  let h = weightHashes.get(model.weights);
  if (h === undefined) {
    h = weightsHash(model.weights);
    weightHashes.set(model.weights, h);
  }
  return h;
};

const identityOf = (input: CircuitInput, model: OpenModel, task: Task): CellIdentity => {
  const version = patchbayVersion();
  const w = hashWeights(model);
  const d = datasetHash(task);
  return {
    cellId: cellIdOf(input.spec, w, d, version),
    weightsHash: w,
    datasetHash: d,
    examples: task.clean.length,
    patchbayVersion: version,
  };
};

/** The cell id without running anything: loads the weights and the task (no ORT session). */
export const cellIdentity = (input: CellInput): Effect.Effect<CellIdentity, PatchbayError> => {
  const { spec } = input;
  if (isCausalSpec(spec)) return causalIdentity({ spec, baseDir: input.baseDir });
  if (isReadoutSpec(spec)) return readoutIdentity({ spec, baseDir: input.baseDir });
  return circuitIdentity({ spec, baseDir: input.baseDir });
};

const circuitIdentity = (input: CircuitInput): Effect.Effect<CellIdentity, PatchbayError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const model = yield* openModel(modelPathOf(input), { threads: input.spec.runtime.threads });
      const task = yield* loadTask(input, model);
      return identityOf(input, model, task);
    }),
  );

/**
 * The ground-truth variant a cell compares against, or null (not a builtin, layer granularity, no
 * match); head-qkv names are the head names for the builtins (none has grouped-query attention).
 */
const truthEdges = (
  spec: CircuitCellSpec,
  model: string,
): Effect.Effect<readonly string[] | null, PatchbayError> =>
  Effect.gen(function* () {
    const want = spec.evaluation.truth;
    if (want === false || !isBuiltinPath(spec.model) || spec.granularity === "layer") return null;
    const circuit = yield* typedSync(() => builtinCircuit(model));
    const variants = circuit.variants ?? {};
    if (typeof want === "string") {
      const v = variants[want];
      if (v === undefined)
        return yield* new InputError({
          field: "evaluation.truth",
          expected: `a ground-truth variant of ${spec.model}: ${Object.keys(variants).join(", ")}`,
          found: JSON.stringify(want),
        });
      return v;
    }
    if (spec.ablation === "zero") return variants.zero ?? null;
    if (spec.ablation !== "resample") return null;
    const corrupt = spec.task.kind === "builtin" ? spec.task.options.corrupt : undefined;
    if (typeof corrupt === "string") return variants[`resample/${corrupt}`] ?? null;
    return circuit.edges ?? variants.resample ?? null;
  });

/**
 * Run one cell: open the model (threads from the spec), make the task, prepare the edge setup,
 * discover, evaluate (curve, Spearman, ground truth) and build the CellResult. Sessions are
 * released when it ends. Pure function of its serialisable input; writes nothing.
 */
export const runCell = (
  input: CellInput,
): Effect.Effect<
  { readonly result: AnyCellResult; readonly seconds: number; readonly files: readonly CellFile[] },
  PatchbayError
> => {
  const { spec } = input;
  if (isCausalSpec(spec)) return runCausalCell({ spec, baseDir: input.baseDir });
  if (isReadoutSpec(spec)) return runReadoutCell({ spec, baseDir: input.baseDir });
  return runCircuitCell({ spec, baseDir: input.baseDir });
};

/** Where a circuit cell's MIB / EAP-IG circuit JSON lives, relative to the results store. */
export const circuitArtifactPath = (cellId: string): string => `artifacts/${cellId}/circuit.json`;

const runCircuitCell = (
  input: CircuitInput,
): Effect.Effect<
  { readonly result: CellResult; readonly seconds: number; readonly files: readonly CellFile[] },
  PatchbayError
> =>
  Effect.scoped(
    Effect.gen(function* () {
      const t0 = performance.now();
      const { spec } = input;
      const modelPath = modelPathOf(input);
      const model = yield* openModel(modelPath, { threads: spec.runtime.threads });
      const task = yield* loadTask(input, model);
      const id = identityOf(input, model, task);
      const setup = yield* prepareEdges(
        model.sessions,
        model,
        {
          ...task,
          ablation: spec.ablation,
          metric: spec.metric,
          ...(spec.ablation.startsWith("mean") ? { reference: [...task.clean, ...task.corrupted] } : {}),
        },
        spec.granularity,
      );
      const r = yield* discover(setup, discoveryOf(spec));
      const curve = spec.evaluation.curve ? yield* mibScores(setup, r.scores) : null;
      const truth = yield* truthEdges(spec, modelPath);
      const cmp = truth === null ? null : compareToTruth(setup.layout, r.inGraph, r.scores, truth);
      const s = r.evaluation.perExample;
      // the circuit as MIB / EAP-IG JSON (every edge with its score), written beside the result;
      // MIB's format has no layer nodes, so layer-granularity cells have none
      const files: CellFile[] =
        spec.granularity === "head"
          ? [
              {
                path: circuitArtifactPath(id.cellId),
                content: `${JSON.stringify(
                  toMibJson(
                    setup.layout,
                    { layout: setup.layout, inGraph: r.inGraph, scores: r.scores },
                    model.config,
                  ),
                  null,
                  1,
                )}\n`,
              },
            ]
          : [];
      const result: CellResult = {
        patchbayVersion: id.patchbayVersion,
        cellId: id.cellId,
        spec,
        model: {
          name: model.config.name,
          weightsHash: id.weightsHash,
          nLayers: model.config.nLayers,
          nHeads: model.config.nHeads,
        },
        dataset: { hash: id.datasetHash, examples: id.examples },
        method: r.method,
        edges: setup.layout.edges.map((e, i) => ({
          name: e.name,
          score: Number.isFinite(r.scores[i]!) ? r.scores[i]! : null,
          inGraph: r.inGraph[i] === 1,
        })),
        metric: { kind: spec.metric, full: r.full, empty: r.empty, circuit: r.evaluation.metric },
        faithfulness: {
          mean: r.evaluation.faithfulness,
          perExample: { mean: s.mean, median: s.median, q25: s.q25, q75: s.q75, min: s.min, max: s.max },
        },
        curve:
          curve === null
            ? null
            : {
                fractions: curve.absolute.fractions,
                edges: curve.absolute.edges,
                faithfulness: curve.absolute.faithfulness,
                cpr: curve.cpr,
                cmd: curve.cmd,
              },
        spearmanVsExact: r.check?.spearman ?? null,
        truth:
          cmp === null || truth === null
            ? null
            : { precision: cmp.precision, recall: cmp.recall, auc: cmp.auc, edges: truth },
        artifact: files[0]?.path ?? null,
      };
      return { result, seconds: (performance.now() - t0) / 1000, files };
    }),
  );

/** What a worker reports for one cell (plain data). */
export interface CellOutcome {
  readonly cellId: string;
  /** already in the store: not computed again */
  readonly skipped: boolean;
  readonly seconds: number;
  readonly path: string;
}

/**
 * Run one cell into the store: skip it when `<results>/cells/<cellId>.json` exists (and parses),
 * else run it and write the result atomically. Serialisable in and out: this is the job a worker
 * thread or queue consumer runs. `cellId`, when given (the id the scheduler computed), is checked.
 */
export const runCellToStore = (
  input: CellInput & { readonly results: string; readonly cellId?: string },
): Effect.Effect<CellOutcome, PatchbayError> =>
  Effect.gen(function* () {
    const t0 = performance.now();
    if (input.cellId !== undefined && readCellResult(input.results, input.cellId) !== null)
      return { cellId: input.cellId, skipped: true, seconds: 0, path: cellPath(input.results, input.cellId) };
    const { result, files } = yield* runCell(input);
    if (input.cellId !== undefined && result.cellId !== input.cellId)
      return yield* new InputError({
        field: "cellId",
        expected: `${input.cellId} (the scheduler's id; model or task changed while running?)`,
        found: result.cellId,
      });
    const path = cellPath(input.results, result.cellId);
    // the files a cell produced (rotation artifacts) first: a result on disk implies its files are
    for (const f of files) writeAtomic(join(input.results, f.path), f.content);
    writeAtomic(path, formatCellResult(result));
    return { cellId: result.cellId, skipped: false, seconds: (performance.now() - t0) / 1000, path };
  });

/** runCellToStore as a Promise (for worker threads: `parentPort.on("message", (m) => runCellJob(m))`). */
export const runCellJob = (input: CellInput & { readonly results: string; readonly cellId?: string }) =>
  Effect.runPromise(runCellToStore(input));
