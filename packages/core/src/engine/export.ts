import type { Effect } from "effect";
import { attempt, InputError } from "../errors/index.ts";
import { toOnnx } from "../graph/index.ts";
import type { Model } from "../model/index.ts";
import { makeBatch } from "../runtime/batch.ts";
import { feeds } from "../runtime/forward.ts";
import { edgeFeeds } from "../edges/bind.ts";
import { interventionFeeds, metricFeeds } from "./bind.ts";
import { checkPlan, compilePlan, type PlanValues } from "./run.ts";
import type { Plan } from "./spec.ts";

/** One input of an exported plan, as onnxruntime (node or web) takes it: `new ort.Tensor(type, data, dims)`. */
export interface ExportedFeed {
  readonly type: "float32" | "int64" | "bool";
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array | Uint8Array;
}

export interface ExportedPlan {
  /** the ONNX model runPlan compiles for this plan, weights inline */
  readonly onnx: Uint8Array;
  /** every input it reads for this batch, bound as runPlan binds them */
  readonly feeds: Readonly<Record<string, ExportedFeed>>;
}

/**
 * A plan as a self-contained ONNX model plus its inputs for one batch: the same graph `runPlan`
 * compiles and the same feeds it binds, to run elsewhere (onnxruntime-web in a static page).
 * Weights go inline, so a model whose weights would need external files (past protobuf's 2 GB
 * limit, or spilled) is an InputError naming the plan.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine } from "@patchbay/core";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel();
 * const task = inductionTask(0, 2);
 * const plan = Engine.plan({ metric: { kind: "logit-diff" }, logits: false });
 * const metric = { positions: task.positions, answers: task.answers, wrong: task.wrong };
 * const out = await Effect.runPromise(Engine.exportPlan(model, plan, task.clean, { metric }));
 * assert.ok(out.onnx.byteLength > 0); // the model, weights inline: any ONNX runtime can load it
 * assert.equal(out.feeds["input_ids"]!.dims[0], 2); // and its inputs for these 2 prompts
 * assert.equal(out.feeds["input_ids"]!.type, "int64");
 * ```
 */
export const exportPlan = (
  model: Model,
  plan: Plan,
  seqs: readonly (readonly number[])[],
  values: PlanValues = {},
): Effect.Effect<ExportedPlan, InputError> =>
  attempt(() => {
    const c = model.config;
    if (plan.weightsAsInputs === true)
      throw new InputError({
        field: "plan.weightsAsInputs",
        expected: "false for an exported plan (weights go inline)",
        found: "true",
      });
    const compiled = checkPlan(c, plan, model.weights);
    const batch = makeBatch(c, seqs, "ids");
    const bound = {
      ...interventionFeeds(c, batch, compiled.interventions, values.interventions ?? []),
      ...(plan.metric !== undefined
        ? metricFeeds(
            c,
            batch,
            plan.metric.kind,
            values.metric ?? missing("values.metric", "positions and answer ids for the plan's metric"),
          )
        : {}),
      ...(compiled.edges !== null ? edgeFeeds(c, compiled.edges, batch, values.edges) : {}),
    };
    const graph = compilePlan(c, model.weights, plan, compiled);
    const lowered = toOnnx(graph);
    if (lowered.external !== null)
      throw new InputError({
        field: "model",
        expected:
          "weights that fit inline in one ONNX file (under protobuf's 2 GB, not spilled) to export a plan",
        found: `${lowered.external.length} external weight file(s)`,
      });
    const names = graph.inputs.map((v) => v.name);
    const all = {
      ...feeds(
        batch,
        names.filter((n) => !(n in bound)),
      ),
      ...bound,
    };
    const out: Record<string, ExportedFeed> = {};
    for (const n of names) {
      const t = all[n];
      if (t === undefined) missing(n, "a value for this graph input");
      out[n] = {
        type: t!.type as ExportedFeed["type"],
        dims: [...t!.dims],
        data: t!.data as ExportedFeed["data"],
      };
    }
    return { onnx: lowered.model, feeds: out };
  }, InputError);

const missing = (field: string, expected: string): never => {
  throw new InputError({ field, expected, found: "nothing" });
};
