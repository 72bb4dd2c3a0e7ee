import { join, resolve } from "node:path";
import {
  compareToTruth,
  discover,
  mibScores,
  prepareEdges,
  taskReference,
  toMibJson,
} from "@patchbay/circuits";
import { InputError, attempt } from "@patchbay/core/errors";
import { type OpenModel, openModel } from "@patchbay/core/runtime";
import { isSourcePath } from "@patchbay/core/weights";
import { builtinCircuit, isBuiltinPath, readTaskFile, type Task, taskFor } from "@patchbay/zoo";
import { Effect } from "effect";
import { type CellIdentity, cellEnvelope } from "../../results/envelope.ts";
import { withProvenance } from "../../results/model-info.ts";
import type { CellResult } from "./result.ts";
import { cellIdOf, datasetHash, patchbayVersion, weightsHash } from "../../run/hash.ts";
import type { CellFile, CellRun, ShardKeeper } from "../kind.ts";
import { type CircuitCellSpec, discoveryOf } from "./spec.ts";
import { CELL_ERRORS, type CellError } from "../../run/cell-errors.ts";
import { shardIdOf, shardsOfCell } from "./shards.ts";
import { type AcdcRowsMaker, type SetupSpec, setupIdOf, setupSpecOf } from "./batches.ts";

export type { SetupSpec } from "./batches.ts";

/** A circuit cell's input (the spec narrowed to its circuit form). */
export type CircuitInput = {
  readonly spec: CircuitCellSpec;
  readonly baseDir: string;
  /** where ACDC checkpoints (and resumes from) when the sweep gives a folder */
  readonly checkpoints?: string;
  /** when the cell runs into a results store: exact patching's shards are kept there */
  readonly keepShards?: ShardKeeper;
  /** ACDC with `split` on a distributing executor: where its batches' parts are evaluated */
  readonly acdcRows?: AcdcRowsMaker;
};

/**
 * The model path a circuit cell opens: a builtin as written, a file path resolved against the experiment file's folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, expandCells, modelPathOf } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * const raw = { name: "c", model: "builtin:induction", task: { n: 4 }, ablation: "resample", metric: "logit-diff", method: { _tag: "eap" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "c.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * assert.equal(modelPathOf({ spec: cell!.spec as never, baseDir: dir }), "builtin:induction");
 * ```
 */
export const modelPathOf = (input: {
  readonly spec: { readonly model: string };
  readonly baseDir: string;
}): string => (isSourcePath(input.spec.model) ? input.spec.model : resolve(input.baseDir, input.spec.model));

/** A circuit cell's (or shard's) task: the builtin's generator, or the task file. */
export const loadTask = (
  input: { readonly spec: Pick<CircuitCellSpec, "task" | "metric">; readonly baseDir: string },
  model: OpenModel,
): Effect.Effect<Task, CellError> => {
  const t = input.spec.task;
  return t.kind === "file"
    ? readTaskFile(resolve(input.baseDir, t.file), model.tokenizer ?? undefined, {
        vocabSize: model.config.vocabSize,
        metric: input.spec.metric,
      })
    : attempt(() => taskFor(t.builtin, { seed: t.seed, n: t.n, options: t.options }), ...CELL_ERRORS);
};

const weightHashes = new WeakMap<object, string>();
export const hashWeights = (model: OpenModel): string => {
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

export const circuitIdentity = (input: CircuitInput): Effect.Effect<CellIdentity, CellError> =>
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
): Effect.Effect<readonly string[] | null, CellError> =>
  Effect.gen(function* () {
    const want = spec.evaluation.truth;
    if (want === false || !isBuiltinPath(spec.model) || spec.granularity === "layer") return null;
    const circuit = yield* attempt(() => builtinCircuit(model), ...CELL_ERRORS);
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
 * A circuit cell's model, task and edge setup, opened in the caller's Scope (sessions are released
 * when it closes): what discovery runs on, and what the explorer patches live.
 */
export const openCircuitSetup = (input: { readonly spec: SetupSpec; readonly baseDir: string }) =>
  Effect.gen(function* () {
    const { spec } = input;
    const model = yield* openModel(modelPathOf(input), { threads: spec.runtime.threads });
    const task = yield* loadTask(input, model);
    const setup = yield* prepareEdges(
      model.sessions,
      model,
      { ...task, ablation: spec.ablation, metric: spec.metric, ...taskReference(task, spec.ablation) },
      spec.granularity,
    );
    return { model, task, setup };
  });

/**
 * Run one circuit cell: open the model (threads from the spec), make the task, prepare the edge setup,
 * discover, evaluate (curve, Spearman, ground truth) and build the CellResult. Sessions are
 * released when it ends. Pure function of its serialisable input; writes nothing.
 */
/**
 * Where a circuit cell's MIB / EAP-IG circuit JSON lives, relative to the results store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { circuitArtifactPath } from "@patchbay/experiments";
 *
 * assert.equal(circuitArtifactPath("abc"), join("artifacts", "abc", "circuit.json"));
 * ```
 */
export const circuitArtifactPath = (cellId: string): string => `artifacts/${cellId}/circuit.json`;

export const runCircuitCell = (input: CircuitInput): Effect.Effect<CellRun<CellResult>, CellError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const t0 = performance.now();
      const { spec } = input;
      const modelPath = modelPathOf(input);
      const { model, task, setup } = yield* openCircuitSetup(input);
      const id = identityOf(input, model, task);
      const discovery = discoveryOf(spec);
      // exact patching in shards keeps each shard in the store (computed there by queue workers, or here)
      const shards = shardsOfCell(spec);
      // ACDC with split on a distributing executor: its batches' parts go to the workers
      const m = discovery.method;
      const acdcRows =
        m._tag === "acdc" && m.split !== undefined && input.acdcRows !== undefined
          ? yield* input.acdcRows({
              spec: setupSpecOf(spec),
              baseDir: input.baseDir,
              setupId: setupIdOf(spec, id.weightsHash, id.datasetHash, id.patchbayVersion),
              entries: setup.layout.sources.length * setup.layout.destinations.length,
              N: setup.N,
            })
          : undefined;
      const r = yield* discover(setup, discovery, {
        ...(acdcRows === undefined ? {} : { acdcRows }),
        ...(input.checkpoints !== undefined && discovery.method._tag === "acdc"
          ? { checkpoint: join(input.checkpoints, "acdc.json") }
          : {}),
        ...(shards.length > 0 && input.keepShards !== undefined
          ? {
              shards: input.keepShards(
                shards.map((s) => shardIdOf(s, id.weightsHash, id.datasetHash, id.patchbayVersion)),
                "exact",
              ),
            }
          : {}),
      });
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
        ...cellEnvelope("circuit", id, spec, withProvenance(model.config, model), r.method),
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
