import { adamInit, adamStep } from "@patchbay/core/optim";
import type { HostTensor } from "@patchbay/core/tensor";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { lookupSite, siteShape } from "@patchbay/core/sites";
import { type Model, mulberry32 } from "@patchbay/core/model";
import { type Plan, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import type { VariableAlignment } from "../alignment/schema.ts";
import { type InterchangeBatch, interchangeBatch } from "../iia/interchange.ts";
import type { CounterfactualExample } from "../model/counterfactuals.ts";
import { CausalError } from "../model/errors.ts";
import type { CausalTask } from "../task/task.ts";
import { dasProblem } from "./options.ts";
import {
  boundlessMask,
  boundlessMaskVjp,
  type MaskBounds,
  makeRotation,
  type RotationKind,
  subspaceSize,
  type TemperatureSchedule,
  temperature,
} from "./rotation/index.ts";

/**
 * Distributed alignment search (Geiger et al. 2023; docs/methods.md#das). For one high-level variable
 * aligned to a site and positions, learn an orthogonal R [k, D] such that interchanging the first
 * k rotated coordinates,
 *   x̃ = x + Rᵀ m ⊙ (R s − R x)          (m = 1: plain DAS; m learned: Boundless DAS)
 * makes the network predict the counterfactual label. Loss = cross-entropy to that label at the
 * readout, mean over the batch: the engine gives ∂L/∂R and ∂L/∂m from its backward graph, the
 * parametrization (Cayley, Householder, expm, or a Stiefel retraction) pulls ∂L/∂R back to θ, and
 * Adam (lr 1e-3, 10% linear warmup by default) steps θ.
 *
 * Boundless DAS (Wu et al. 2023): R is the full Q [D, D] and the mask over rotated coordinates
 *   m_i = σ((i − b_lo)/T) · σ((b_hi − i)/T),   T annealed from 50 to 0.1,
 * with b_lo, b_hi learned (a penalty λ·Σ m keeps the subspace small); the learned size is Σ m.
 */
export interface BoundlessOptions {
  /** initial b_lo, b_hi (default −0.5 and D/2: the first half of the coordinates on) */
  readonly init?: MaskBounds;
  readonly temperature?: TemperatureSchedule;
  /** Adam learning rate of the boundaries (default 1e-2) */
  readonly lr?: number;
  /** λ of the size penalty λ·Σ m (default 0) */
  readonly sizePenalty?: number;
}

export interface DasOptions {
  /** how R stays orthogonal (default "cayley") */
  readonly parametrization?: RotationKind;
  /** k, the subspace size (default: entry.subspace's rank, else 1; refused with boundless, which learns it) */
  readonly rank?: number;
  readonly boundless?: BoundlessOptions;
  readonly steps?: number;
  readonly batchSize?: number;
  readonly lr?: number;
  /** fraction of steps with linear warmup (default 0.1) */
  readonly warmup?: number;
  readonly seed?: number;
}

/** A learned alignment: everything needed to re-evaluate it (see artifact.ts). */
export interface LearnedRotation {
  readonly parametrization: RotationKind;
  /** D, the site's last axis */
  readonly size: number;
  /** k, rows of R */
  readonly rank: number;
  /** θ [nParams] */
  readonly theta: Float64Array;
  /** R [k, D] = the first k rows of Q(θ) */
  readonly rotation: Float64Array;
  /** boundless: the final mask [k] and boundaries (else null) */
  readonly mask: Float64Array | null;
  readonly bounds: MaskBounds | null;
}

export interface DasResult {
  readonly learned: LearnedRotation;
  /** training loss per step */
  readonly curve: readonly { readonly step: number; readonly loss: number; readonly size?: number }[];
  readonly steps: number;
}

/**
 * The engine values of a learned rotation, for iia(…, {rotations}).
 *
 * Returns `{ rotation, mask? }`: R as a HostTensor [k, D], and the boundless mask when there is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rotationValues } from "@patchbay/causal";
 *
 * const learned = {
 *   parametrization: "cayley" as const,
 *   size: 3,
 *   rank: 1,
 *   theta: new Float64Array(3),
 *   rotation: Float64Array.of(1, 0, 0),
 *   mask: null,
 *   bounds: null,
 * };
 * const v = rotationValues(learned);
 * assert.deepEqual(v.rotation.shape, [1, 3]);
 * assert.equal(v.mask, undefined);
 * ```
 */
export const rotationValues = (l: LearnedRotation) => ({
  rotation: f32(l.rotation, [l.rank, l.size]),
  ...(l.mask !== null ? { mask: Float32Array.from(l.mask) } : {}),
});

const f32 = (x: Float64Array, shape: number[]): HostTensor => ({ data: Float32Array.from(x), shape });

/**
 * Distributed alignment search: learns a rotation R [k, D] whose first k rotated dims hold the variable, by training interchange interventions at one site. Returns `{ learned, curve, steps, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { counterfactuals, das, linearToy } from "@patchbay/causal";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { Effect } from "effect";
 *
 * const toy = linearToy(); // X and Y written on planted planes of a 12-wide residual stream
 * const train = counterfactuals(toy.task.model, toy.task.families[0]!, { n: 64, seed: 1 });
 * const entry = { variable: "X", site: "blocks.0.resid_post", positions: ["last" as const], subspace: { rank: 2 } };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       das(cache, toy.model, toy.task, entry, train, { rank: 2, steps: 100, lr: 0.05, batchSize: 32 }),
 *     ),
 *   ),
 * );
 * assert.equal(r.learned.rotation.length, 2 * 12); // R [k, D]
 * assert.ok(r.curve.at(-1)!.loss < r.curve[0]!.loss);
 * ```
 */
export const das = (
  cache: SessionCache,
  model: Model,
  task: CausalTask,
  entry: VariableAlignment,
  train: readonly CounterfactualExample[],
  opts: DasOptions = {},
): Effect.Effect<DasResult, CausalError | InputError | RuntimeError> =>
  Effect.gen(function* () {
    const where = `DAS on ${task.name}`;
    if (train.length === 0)
      return yield* new CausalError({ where, field: "train", expected: "training examples", found: "none" });
    const refused = dasProblem(where, entry, opts);
    if (refused !== null) return yield* refused;
    const D = yield* siteWidth(model, entry.site, where);
    const boundless = opts.boundless;
    const k =
      boundless !== undefined
        ? D
        : (opts.rank ??
          (typeof entry.subspace === "object" && "rank" in entry.subspace ? entry.subspace.rank : 1));
    if (!(Number.isInteger(k) && k >= 1 && k <= D))
      return yield* new CausalError({
        where,
        field: "rank",
        expected: `an integer in [1, ${D}]`,
        found: String(k),
      });
    const kind = opts.parametrization ?? "cayley";
    const seed = opts.seed ?? 0;
    const steps = opts.steps ?? 200;
    const batchSize = Math.min(opts.batchSize ?? 32, train.length);
    const rot = makeRotation(kind, D, k);
    const aligned: VariableAlignment = { ...entry, subspace: { rank: k } };

    // fixed minibatches of a seeded shuffle; their source captures do not depend on R, so each
    // is captured once
    const order = shuffle(train.length, seed);
    const batches: InterchangeBatch[] = [];
    const placeholder = { [entry.variable]: { rotation: f32(rot.matrix(rot.init(seed)), [k, D]) } };
    for (let s = 0; s < order.length; s += batchSize) {
      const part = order.slice(s, s + batchSize).map((i) => train[i]!);
      batches.push(yield* interchangeBatch(cache, model, task, [aligned], part, placeholder));
    }
    const plan: Plan = {
      captures: [],
      interventions: batches[0]!.interventions,
      metric: { kind: "cross-entropy" },
      gradients: [
        { _tag: "param", index: 0, param: "rotation" },
        ...(boundless !== undefined ? [{ _tag: "param" as const, index: 0, param: "mask" }] : []),
      ],
      logits: false,
    };

    let theta = rot.init(seed);
    let bounds: MaskBounds = boundless?.init ?? { lo: -0.5, hi: D / 2 };
    const adamT = { lr: opts.lr ?? 1e-3, warmup: Math.round((opts.warmup ?? 0.1) * steps) };
    const adamB = { lr: boundless?.lr ?? 1e-2, warmup: adamT.warmup };
    let stateT = adamInit(new Map([["theta", f32(theta, [theta.length])]]));
    let stateB = adamInit(new Map([["bounds", f32(Float64Array.of(bounds.lo, bounds.hi), [2])]]));
    const curve: { step: number; loss: number; size?: number }[] = [];
    let mask: Float64Array | null = null;
    for (let step = 0; step < steps; step++) {
      const b = batches[step % batches.length]!;
      const T = boundless !== undefined ? temperature(step, steps, boundless.temperature) : 1;
      mask = boundless !== undefined ? boundlessMask(D, bounds, T) : null;
      const R = rot.matrix(theta);
      const values = b.values.map((v, i) =>
        i === 0
          ? { ...v, rotation: f32(R, [k, D]), ...(mask !== null ? { mask: Float32Array.from(mask) } : {}) }
          : v,
      );
      const r = yield* runPlan(cache, model, { ...plan, interventions: b.interventions }, b.baseIds, {
        interventions: values,
        metric: { positions: b.readout.map((p) => [p]), answers: b.labels.map((l) => [l]) },
      });
      const loss = r.metric!.mean;
      if (!Number.isFinite(loss))
        return yield* new CausalError({
          where,
          field: `step ${step} loss`,
          expected: "a finite cross-entropy",
          found: String(loss),
        });
      curve.push({ step, loss, ...(mask !== null ? { size: subspaceSize(mask) } : {}) });
      const dR = Float64Array.from(r.grads.get("param:0.rotation")!.data);
      const gTheta = rot.vjp(theta, dR);
      const stepT = adamStep(
        new Map([["theta", f32(theta, [theta.length])]]),
        new Map([["theta", { data: Float32Array.from(gTheta) }]]),
        stateT,
        adamT,
      );
      stateT = stepT.state;
      const proposed = stepT.weights.get("theta")!.data;
      const delta = Float64Array.from(proposed, (x, i) => x - theta[i]!);
      theta = rot.retract(theta, delta);
      if (boundless !== undefined && mask !== null) {
        const dm = Float64Array.from(
          r.grads.get("param:0.mask")!.data,
          (g) => g + (boundless.sizePenalty ?? 0),
        );
        const gB = boundlessMaskVjp(D, bounds, T, dm);
        const stepB = adamStep(
          new Map([["bounds", f32(Float64Array.of(bounds.lo, bounds.hi), [2])]]),
          new Map([["bounds", { data: Float32Array.of(gB.lo, gB.hi) }]]),
          stateB,
          adamB,
        );
        stateB = stepB.state;
        const nb = stepB.weights.get("bounds")!.data;
        // projected: boundaries outside [−½, D − ½] switch nothing more on at low T, but at high T
        // they would keep drifting (and smear the mask); keep them on the coordinate range
        const clamp = (x: number) => Math.min(D - 0.5, Math.max(-0.5, x));
        bounds = { lo: clamp(nb[0]!), hi: clamp(nb[1]!) };
      }
    }
    const finalMask =
      boundless !== undefined
        ? boundlessMask(D, bounds, temperature(steps - 1, steps, boundless.temperature))
        : null;
    return {
      learned: {
        parametrization: kind,
        size: D,
        rank: k,
        theta,
        rotation: rot.matrix(theta),
        mask: finalMask,
        bounds: boundless !== undefined ? bounds : null,
      },
      curve,
      steps,
    };
  });

/** A seeded permutation of 0 … n − 1 (Fisher–Yates, mulberry32). */
export const shuffle = (n: number, seed: number): number[] => {
  const u = mulberry32(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
};

/** The size of a site's last axis. */
const siteWidth = (model: Model, site: string, where: string): Effect.Effect<number, CausalError> =>
  Effect.suspend(() => {
    const info = lookupSiteWidth(model, site);
    return info === null
      ? Effect.fail(
          new CausalError({
            where,
            field: "site",
            expected: "a site of the model",
            found: JSON.stringify(site),
          }),
        )
      : Effect.succeed(info);
  });

const lookupSiteWidth = (model: Model, site: string): number | null => {
  const r = lookupSite(model.config, site);
  if (!r.ok) return null;
  const shape = siteShape(r.site, model.config, 1, 1);
  return shape[shape.length - 1]!;
};
