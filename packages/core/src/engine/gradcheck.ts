import { Effect } from "effect";
import type { InputError, RuntimeError } from "../errors/index.ts";
import { type Model, mulberry32, type Weights } from "../model/index.ts";
import { siteCatalog, siteShape } from "../model/sites.ts";
import { makeSessionCache } from "../runtime/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import type { InterventionValues, MetricBinding } from "./bind.ts";
import { gradLabel, type PlanValues, runPlan } from "./run.ts";
import { type GradTarget, type Intervention, type Plan, plan } from "./spec.ts";

/**
 * Autodiff against central finite differences on a real model, one row per kind of target: every
 * kind of site (layer 0 and the last layer), every differentiable intervention parameter, and a
 * few weights. The metric is the logit difference at the last position of a seeded random batch.
 * FD runs the same float32 engine with ±h at single coordinates, h = max(1e-2·|x|, 1e-3) relative
 * to the coordinate's value (norm scales can be ~1e-2), Richardson-extrapolated over h and h/2:
 * D = (4·D(h/2) − D(h))/3 cancels the O(h²) truncation term. A float32 metric m carries rounding
 * noise ≈ 2⁻²³·|m| per evaluation, so an FD quotient cannot resolve differences below
 * noise ≈ 10·2⁻²³·|m|/h; the error reported is the part beyond that noise, relative:
 * max(0, |ad − fd| − noise) / max(|fd|, |ad|), over the `coords`
 * coordinates of largest |autodiff| (where a wrong rule shows) plus one random one (where a wrong
 * zero shows).
 */
export interface GradcheckRow {
  readonly kind: "site" | "param" | "weight";
  readonly target: string;
  readonly maxRelError: number;
  readonly coords: number;
}

const EPS = 1e-2;

/** Richardson-extrapolated central difference of f at 0: (4·D(h/2) − D(h))/3, D(h) = (f(h) − f(−h))/2h. */
const derivative = <E>(
  x: number,
  f: (d: number) => Effect.Effect<number, E>,
): Effect.Effect<{ value: number; noise: number }, E> =>
  Effect.gen(function* () {
    const h = Math.max(EPS * Math.abs(x), 1e-3);
    let scale = 0;
    const D = (s: number) =>
      Effect.map(Effect.zip(f(s), f(-s)), ([up, down]) => {
        scale = Math.max(scale, Math.abs(up), Math.abs(down));
        return (up - down) / (2 * s);
      });
    const coarse = yield* D(h);
    const fine = yield* D(h / 2);
    return { value: (4 * fine - coarse) / 3, noise: (10 * 2 ** -23 * scale) / (h / 2) };
  });

/**
 * Checks autodiff against finite differences on a model (see GradcheckRow): one row per kind\nof target, with its largest relative error beyond float32 noise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * const rows = await Effect.runPromise(Engine.gradcheck(model, { seed: 0, coords: 1 }));
 * assert.ok(rows.every((r) => r.maxRelError < 1e-2), JSON.stringify(rows.filter((r) => r.maxRelError >= 1e-2)));
 * ```
 */
export const gradcheck = (
  model: Model,
  opts: { readonly seed?: number; readonly coords?: number } = {},
): Effect.Effect<GradcheckRow[], InputError | RuntimeError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const c = model.config;
      const rand = mulberry32(opts.seed ?? 0);
      const k = opts.coords ?? 3;
      const P = Math.min(6, c.nCtx);
      const ids = [0, 1].map(() => Array.from({ length: P }, () => Math.floor(rand() * c.vocabSize)));
      const metric: MetricBinding = {
        positions: ids.map(() => [P - 1]),
        answers: ids.map(() => [Math.floor(rand() * c.vocabSize)]),
        wrong: ids.map(() => [Math.floor(rand() * c.vocabSize)]),
      };
      const cache = yield* makeSessionCache(`gradcheck:${c.name}`);
      const run = (plan: Plan, values: PlanValues, w: Weights = model.weights) =>
        w === model.weights
          ? runPlan(cache, model, plan, ids, values)
          : Effect.scoped(
              Effect.flatMap(makeSessionCache("fd"), (fresh) =>
                runPlan(fresh, { config: c, weights: w }, plan, ids, values),
              ),
            );
      const metricPlan = (p: Partial<Plan>): Plan =>
        plan({ logits: false, metric: { kind: "logit-diff" }, ...p });
      const picks = (grad: Float32Array): number[] => {
        const order = Array.from(grad.keys()).sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!));
        return [...new Set([...order.slice(0, k), Math.floor(rand() * grad.length)])];
      };
      const rel = (ad: number, fd: { value: number; noise: number }) =>
        Math.max(0, Math.abs(ad - fd.value) - fd.noise) / Math.max(Math.abs(fd.value), Math.abs(ad), 1e-12);
      const rows: GradcheckRow[] = [];

      // Sites: one of each kind, at layer 0 and the last layer.
      const last = c.nLayers - 1;
      const sites = siteCatalog(c).filter(
        (s) =>
          s.dims[0] === "batch" &&
          s.dims[1] === "pos" &&
          s.name !== "logits" &&
          (s.layer === null || s.layer === 0 || s.layer === last),
      );
      for (const site of sites) {
        const t: GradTarget = { _tag: "site", site: site.name };
        const r = yield* run(metricPlan({ gradients: [t], captures: [site.name] }), { metric });
        const grad = r.grads.get(gradLabel(t))!;
        const x = r.sites.get(site.name)!.data;
        const shape = siteShape(site, c, ids.length, P);
        const add = metricPlan({
          interventions: [{ _tag: "add", shape: "full", target: { site: site.name } }],
        });
        let worst = 0;
        for (const i of picks(grad.data)) {
          const at = (d: number): InterventionValues => {
            const v = new Float32Array(grad.data.length);
            v[i] = d;
            return { value: { data: v, shape } };
          };
          const fd = yield* derivative(x[i]!, (d) =>
            Effect.map(run(add, { metric, interventions: [at(d)] }), (r) => r.metric!.mean),
          );
          worst = Math.max(worst, rel(grad.data[i]!, fd));
        }
        rows.push({ kind: "site", target: site.name, maxRelError: worst, coords: picks(grad.data).length });
      }

      // Intervention parameters at the middle layer's residual stream.
      const D = c.dModel;
      const mid = `blocks.${Math.floor(c.nLayers / 2)}.resid_pre`;
      const vec = (n: number, shape: number[]): HostTensor => ({
        data: Float32Array.from({ length: n }, () => rand() - 0.5),
        shape,
      });
      const cases: [Intervention, InterventionValues, string][] = [
        [
          { _tag: "replace", target: { site: mid, positions: [P - 2] } },
          { value: vec(ids.length * P * D, [ids.length, P, D]) },
          "value",
        ],
        [{ _tag: "add", shape: "vector", target: { site: mid } }, { value: vec(D, [D]) }, "value"],
        [{ _tag: "scale", target: { site: mid, dims: [0, 1] } }, { factor: 0.5 }, "factor"],
        [
          { _tag: "subspace", rank: 2, orthogonal: false, target: { site: mid } },
          {
            rotation: vec(2 * D, [2, D]),
            mask: Float32Array.from([0.4, 1]),
            source: vec(ids.length * P * D, [ids.length, P, D]),
          },
          "rotation",
        ],
        [
          { _tag: "subspace", rank: 2, orthogonal: false, target: { site: mid } },
          {
            rotation: vec(2 * D, [2, D]),
            mask: Float32Array.from([0.4, 1]),
            source: vec(ids.length * P * D, [ids.length, P, D]),
          },
          "mask",
        ],
      ];
      for (const [iv, values, param] of cases) {
        const t: GradTarget = { _tag: "param", index: 0, param };
        const r = yield* run(metricPlan({ interventions: [iv], gradients: [t] }), {
          metric,
          interventions: [values],
        });
        const grad = r.grads.get(gradLabel(t))!;
        let worst = 0;
        for (const i of picks(grad.data)) {
          const bumped = (d: number): InterventionValues => {
            const cur = values[param as keyof InterventionValues];
            if (typeof cur === "number") return { ...values, [param]: cur + d };
            const data = (cur instanceof Float32Array ? cur : (cur as HostTensor).data).slice();
            data[i]! += d;
            return {
              ...values,
              [param]: cur instanceof Float32Array ? data : { data, shape: (cur as HostTensor).shape },
            };
          };
          const cur = values[param as keyof InterventionValues];
          const x0 =
            typeof cur === "number"
              ? cur
              : (cur instanceof Float32Array ? cur : (cur as HostTensor).data)[i]!;
          const fd = yield* derivative(x0, (d) =>
            Effect.map(
              run(metricPlan({ interventions: [iv] }), { metric, interventions: [bumped(d)] }),
              (r) => r.metric!.mean,
            ),
          );
          worst = Math.max(worst, rel(grad.data[i]!, fd));
        }
        rows.push({
          kind: "param",
          target: `${iv._tag}.${param}`,
          maxRelError: worst,
          coords: picks(grad.data).length,
        });
      }

      // Weights.
      const names = [
        "embed.W_E",
        "blocks.0.attn.W_Q",
        "blocks.0.attn.W_O",
        `blocks.${last}.mlp.W_in`,
        "unembed.W_U",
      ].filter((n) => model.weights.has(n));
      for (const name of names) {
        const t: GradTarget = { _tag: "weight", name };
        const r = yield* run(metricPlan({ gradients: [t] }), { metric });
        const grad = r.grads.get(gradLabel(t))!;
        let worst = 0;
        for (const i of picks(grad.data)) {
          const at = (d: number) => {
            const w0 = model.weights.get(name)!;
            const data = w0.data.slice();
            data[i]! += d;
            return new Map(model.weights).set(name, { data, shape: w0.shape });
          };
          const fd = yield* derivative(model.weights.get(name)!.data[i]!, (d) =>
            Effect.map(run(metricPlan({}), { metric }, at(d)), (r) => r.metric!.mean),
          );
          worst = Math.max(worst, rel(grad.data[i]!, fd));
        }
        rows.push({ kind: "weight", target: name, maxRelError: worst, coords: picks(grad.data).length });
      }
      return rows;
    }),
  );
