import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import { type Intervention, plan, runPlan } from "@patchbay/core/engine";
import { sourceSite } from "@patchbay/core/edges";
import { Effect } from "effect";
import { evaluateMasks, rowsPerRun, tileRows } from "./masks.ts";
import type { EdgeSetup } from "./setup.ts";

/**
 * Activation and path patching (docs/methods.md#activation-patching), on the edge-masked graph.
 *
 * Node patching: node u's output is replaced by z′_u in every reader — all of u's outgoing edges
 * ablated at once — so M nodes are M masks in one batched run:
 *   effect(u) = metric(z_u → z′_u everywhere) − metric(clean)
 * Path patching (AutoCircuit's definition): the sender's output is replaced by z′ only in the
 * inputs of the given receivers, every other path keeps the clean value:
 *   effect(u → R) = metric(edges u→v ablated for v ∈ R) − metric(clean)
 */
export interface NodeEffects {
  /** source names in layout order */
  readonly nodes: readonly string[];
  /** [nodes] mean metric change */
  readonly effects: Float64Array;
  readonly runs: number;
}

/**
 * Activation patching per node: each node's output alone becomes its ablated value, and the metric's change is its effect. Returns `{ nodes, effects, runs }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodePatching, prepareEdges } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 81 edges
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       return yield* nodePatching(setup);
 *     }),
 *   ),
 * );
 * const effect = Object.fromEntries(r.nodes.map((n, i) => [n, r.effects[i]!]));
 * assert.ok(effect["a1.h2"]! < -1); // patching the induction head destroys the logit difference
 * assert.equal(effect["a0.h0"], 0); // a head outside the circuit does nothing
 * ```
 */
export const nodePatching = (setup: EdgeSetup): Effect.Effect<NodeEffects, InputError | RuntimeError> =>
  nodePatchingOf(setup, 0, setup.layout.sources.length);

/** Node patching of the sources [from, to) alone (one shard of nodePatching; shards.ts). */
export const nodePatchingOf = (
  setup: EdgeSetup,
  from: number,
  to: number,
): Effect.Effect<NodeEffects, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { layout } = setup;
    const D = layout.destinations.length;
    const SD = layout.sources.length * D;
    const sources = layout.sources.slice(from, to);
    const masks = [new Float32Array(SD).fill(1)];
    for (const s of sources) {
      const m = new Float32Array(SD).fill(1);
      m.fill(0, s.index * D, (s.index + 1) * D); // every edge out of s
      masks.push(m);
    }
    const r = yield* evaluateMasks(setup, masks);
    const effects = Float64Array.from(sources, (_, i) => r.mean[i + 1]! - r.mean[0]!);
    return { nodes: sources.map((s) => s.name), effects, runs: r.runs };
  });

/**
 * Destinations named by `a1.h2<k>`, a component (`a1.h2`: its q, k and v; `m1`; `logits`).
 *
 * Returns destination indices of the layout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareEdges, resolveReceivers } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 81 edges
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       return setup.layout.destinations.filter((_, i) => resolveReceivers(setup, ["a1.h2"]).includes(i)).map((d) => d.name);
 *     }),
 *   ),
 * );
 * assert.deepEqual(r, ["a1.h2<q>", "a1.h2<k>", "a1.h2<v>"]);
 * ```
 */
export const resolveReceivers = (setup: EdgeSetup, receivers: readonly string[]): number[] => {
  const out = new Set<number>();
  receivers.forEach((name, i) => {
    const hits = setup.layout.destinations.filter((d) => d.name === name || d.node === name);
    if (hits.length === 0)
      throw new InputError({
        field: `receivers[${i}]`,
        expected: "a destination (a1.h2<k>) or component (a1.h2, m1, logits) of the edge layout",
        found: JSON.stringify(name),
      });
    for (const d of hits) out.add(d.index);
  });
  return [...out];
};

export interface PathSpec {
  readonly sender: string;
  readonly receivers: readonly string[];
}

/**
 * Path patching: the sender's output becomes its ablated value only along its edges into the receivers. Returns `{ effects, runs }`, one effect per path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathPatching, prepareEdges } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 81 edges
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       return yield* pathPatching(setup, [{ sender: "a1.h2", receivers: ["logits"] }, { sender: "a0.h0", receivers: ["logits"] }]);
 *     }),
 *   ),
 * );
 * assert.equal(r.effects.length, 2);
 * assert.ok(Math.abs(r.effects[0]!) > Math.abs(r.effects[1]!));
 * ```
 */
export const pathPatching = (
  setup: EdgeSetup,
  paths: readonly PathSpec[],
): Effect.Effect<{ readonly effects: Float64Array; readonly runs: number }, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { layout } = setup;
    const D = layout.destinations.length;
    const masks = [new Float32Array(layout.sources.length * D).fill(1)];
    for (const [i, p] of paths.entries()) {
      const s = layout.sources.find((x) => x.name === p.sender);
      if (s === undefined)
        return yield* new InputError({
          field: `paths[${i}].sender`,
          expected: "a source of the edge layout (input, a0.h1, m2)",
          found: JSON.stringify(p.sender),
        });
      const dests = yield* attempt(() => resolveReceivers(setup, p.receivers), InputError);
      const m = new Float32Array(layout.sources.length * D).fill(1);
      for (const v of dests) {
        if (s.index >= layout.destinations[v]!.nSources)
          return yield* new InputError({
            field: `paths[${i}].receivers`,
            expected: `receivers downstream of ${p.sender}`,
            found: layout.destinations[v]!.name,
          });
        m[s.index * D + v] = 0;
      }
      masks.push(m);
    }
    const r = yield* evaluateMasks(setup, masks);
    return { effects: Float64Array.from(paths, (_, i) => r.mean[i + 1]! - r.mean[0]!), runs: r.runs };
  });

/**
 * Activation patching per node and position: z_u at position p alone becomes z′_u. One compiled
 * graph per site kind (the head selection is a run-time input); rows (position, example) are
 * batched, one run per node. effects[node][p] = mean over the examples longer than p.
 *
 * Returns `{ nodes, effects, runs }` with `effects[node]` one value per position.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodePositionPatching, prepareEdges } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 81 edges
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       return yield* nodePositionPatching(setup);
 *     }),
 *   ),
 * );
 * assert.equal(r.effects.length, r.nodes.length);
 * assert.equal(r.effects[0]!.length, task.clean[0]!.length);
 * ```
 */
export const nodePositionPatching = (
  setup: EdgeSetup,
): Effect.Effect<
  { readonly nodes: readonly string[]; readonly effects: Float64Array[]; readonly runs: number },
  InputError | RuntimeError
> =>
  Effect.gen(function* () {
    const { layout, N, P, cache, model } = setup;
    const c = model.config;
    const S = layout.sources.length;
    const full = yield* setup.ablated; //                                          z′ [N, P, S, d]
    const d = c.dModel;
    const jobs: { p: number; b: number }[] = [];
    for (let p = 0; p < P; p++)
      for (let b = 0; b < N; b++) if (p < setup.task.clean[b]!.length) jobs.push({ p, b });
    const metricPlan = { kind: setup.task.metric };
    // clean metric per example
    const all = Array.from({ length: N }, (_, b) => b);
    const cleanRun = yield* runPlan(
      cache,
      model,
      plan({ metric: metricPlan, logits: false }),
      setup.task.clean,
      {
        metric: tileRows(setup, all).metric,
      },
    );
    const cleanMetric = cleanRun.metric!.perExample;
    let runs = 1;
    const effects: Float64Array[] = [];
    const chunk = rowsPerRun(setup);
    for (const src of layout.sources) {
      const { site, head } = sourceSite(layout, src.index);
      const H = head === null ? 1 : c.nHeads;
      // z′ at this site [N, P, (H,) d]: every head's slot, so the head selection picks one
      const value = new Float32Array(N * P * H * d);
      const first = head === null ? src.index : src.index - head;
      for (let i = 0; i < N * P; i++)
        for (let h = 0; h < H; h++)
          value.set(
            full.data.subarray((i * S + first + h) * d, (i * S + first + h + 1) * d),
            (i * H + h) * d,
          );
      const target = head === null ? { site, positions: [[0]] } : { site, heads: [head], positions: [[0]] };
      const iv: Intervention = { _tag: "replace", target };
      const sums = new Float64Array(P);
      const counts = new Float64Array(P);
      for (let start = 0; start < jobs.length; start += chunk) {
        const part = jobs.slice(start, start + chunk);
        const tiled = tileRows(
          setup,
          part.map((j) => j.b),
        );
        const per = P * H * d;
        const rowValue = new Float32Array(part.length * per);
        part.forEach((j, r) => {
          rowValue.set(value.subarray(j.b * per, (j.b + 1) * per), r * per);
        });
        const shape = head === null ? [part.length, P, d] : [part.length, P, H, d];
        const r = yield* runPlan(
          cache,
          model,
          plan({
            interventions: [{ ...iv, target: { ...target, positions: part.map((j) => [j.p]) } }],
            metric: metricPlan,
            logits: false,
          }),
          tiled.seqs,
          { interventions: [{ value: { data: rowValue, shape } }], metric: tiled.metric },
        );
        part.forEach((j, i) => {
          sums[j.p]! += r.metric!.perExample[i]! - cleanMetric[j.b]!;
          counts[j.p]! += 1;
        });
        runs++;
      }
      effects.push(Float64Array.from(sums, (s, p) => (counts[p]! > 0 ? s / counts[p]! : Number.NaN)));
    }
    return { nodes: layout.sources.map((s) => s.name), effects, runs };
  });
