import { InputError } from "@patchbay/core/errors";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { mulberry32, normals, randomWeights } from "@patchbay/core/model";
import { referenceForward } from "@patchbay/core/reference";
import { inductionModel } from "@patchbay/zoo";
import { Effect, Schema } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbConfig } from "../../../core/src/reference/arbitraries.ts";
import { controlLabels } from "./control.ts";
import { captureFeatures, type Features } from "./dataset.ts";
import { permutation } from "./features.ts";
import { prevTokenData, prevTokenProbe } from "./induction.ts";
import { fitSoftmax, softmaxLoss } from "./logistic.ts";
import { fitProbe, probe, probeWithFit } from "./probe.ts";
import { ProbeSpec } from "./spec.ts";

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("probing-test"), f)));

const spec = (o: Record<string, unknown>) => Schema.decodeUnknownSync(ProbeSpec)(o);

/** Features from a plain matrix (one row per "prompt"), for probe tests that need no model. */
const plainFeatures = (X: Float64Array, d: number, token?: Int32Array): Features => {
  const n = X.length / d;
  return { X, dim: d, group: Int32Array.from({ length: n }, (_, i) => i), token: token ?? new Int32Array(n) };
};

describe("softmax regression", () => {
  it("the analytic gradient matches central finite differences (float64)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 2, max: 4 }),
        fc.nat(1000),
        (d, C, seed) => {
          const n = 7;
          const X = Float64Array.from(normals(seed, n * d));
          const rand = mulberry32(seed + 1);
          const y = Int32Array.from({ length: n }, () => Math.floor(rand() * C));
          const theta = Float64Array.from(normals(seed + 2, d * C + C));
          const g = new Float64Array(theta.length);
          softmaxLoss(X, y, d, C, 0.3, theta, g);
          const h = 1e-6;
          const scratch = new Float64Array(theta.length);
          for (let j = 0; j < theta.length; j++) {
            const tp = Float64Array.from(theta);
            const tm = Float64Array.from(theta);
            tp[j]! += h;
            tm[j]! -= h;
            const fd =
              (softmaxLoss(X, y, d, C, 0.3, tp, scratch) - softmaxLoss(X, y, d, C, 0.3, tm, scratch)) /
              (2 * h);
            expect(Math.abs(fd - g[j]!)).toBeLessThan(1e-6);
          }
        },
      ),
      { numRuns: 30, seed: 7 },
    );
  });

  it("L-BFGS reaches a stationary point of the regularised loss, the same from any run", () => {
    const d = 6;
    const n = 200;
    const X = Float64Array.from(normals(3, n * d));
    const y = Int32Array.from(
      { length: n },
      (_, i) => (X[i * d]! + 0.5 * X[i * d + 1]! > 0 ? 1 : 0) + (i % 3 === 0 ? 1 : 0),
    );
    const a = fitSoftmax(X, y, d, 3, { l2: 1e-2, maxIter: 500, tol: 1e-9 });
    const b = fitSoftmax(X, y, d, 3, { l2: 1e-2, maxIter: 500, tol: 1e-9 });
    expect(a.gradNorm).toBeLessThan(1e-7);
    expect(Array.from(a.model.W)).toEqual(Array.from(b.model.W));
  });
});

describe("probes on planted data (no model)", () => {
  // Two Gaussian classes separated along a random unit direction u by 8σ: linearly separable
  // up to ~3e−5 of the mass; shuffled labels carry no information.
  const d = 10;
  const n = 600;
  const u = Float64Array.from(normals(11, d));
  const un = Math.hypot(...u);
  const X = Float64Array.from(normals(12, n * d));
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < d; k++) X[i * d + k]! += (labels[i]! ? 4 : -4) * (u[k]! / un);

  it("a planted linearly separable label is decoded at ≈ 1 on held-out rows", () => {
    const fit = fitProbe(plainFeatures(X, d), labels, spec({ site: "planted", control: false }), n);
    expect(fit.result.task.heldOutAccuracy).toBeGreaterThan(0.99);
    expect(fit.result.task.trainAccuracy).toBeGreaterThan(0.99);
    expect(fit.result.nHeldOut).toBe(150);
  });

  it("shuffled labels give chance on held-out rows (for several seeds)", () => {
    for (const seed of [1, 2, 3]) {
      const perm = permutation(n, seed);
      const shuffled = perm.map((i) => labels[i]!);
      const fit = fitProbe(plainFeatures(X, d), shuffled, spec({ site: "planted", control: false, seed }), n);
      expect(Math.abs(fit.result.task.heldOutAccuracy - 0.5)).toBeLessThan(0.12);
    }
  });
});

describe("control task and selectivity", () => {
  it("control labels are a seeded function of the type, drawn from the label set", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 60 }),
        fc.nat(),
        (types, seed) => {
          const labels = types.map((t) => (t * 7) % 5);
          for (const sampling of ["uniform", "empirical"] as const) {
            const c = controlLabels(types, labels, seed, sampling);
            expect(c).toEqual(controlLabels(types, labels, seed, sampling));
            const set = new Set(labels);
            const byType = new Map<number, number>();
            c.forEach((l, i) => {
              expect(set.has(l)).toBe(true);
              const t = types[i]!;
              if (byType.has(t)) expect(byType.get(t)).toBe(l);
              byType.set(t, l);
            });
          }
        },
      ),
      { numRuns: 50, seed: 3 },
    );
  });

  it("selectivity = held-out task accuracy − held-out control accuracy, the control refitted independently", () => {
    const d = 8;
    const n = 400;
    const rand = mulberry32(5);
    const token = Int32Array.from({ length: n }, () => Math.floor(rand() * 12));
    // features: a noisy one-hot of the token in the first 12 dims… d = 8 < 12, so a random
    // embedding of the token plus noise; the label is a linear function of feature 0.
    const E = normals(6, 12 * d);
    const noise = normals(7, n * d);
    const X = new Float64Array(n * d);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < d; k++) X[i * d + k] = E[token[i]! * d + k]! + 0.3 * noise[i * d + k]!;
    const labels = Array.from({ length: n }, (_, i) => (X[i * d]! > 0 ? 1 : 0));
    const s = spec({ site: "planted", seed: 9 });
    const f = plainFeatures(X, d, token);
    const fit = fitProbe(f, labels, s, n);
    const control = fitProbe(
      f,
      controlLabels(Array.from(token), labels, 9, "uniform"),
      { ...s, control: false },
      n,
    );
    expect(fit.result.control).not.toBeNull();
    expect(fit.result.control!.heldOutAccuracy).toBe(control.result.task.heldOutAccuracy);
    expect(fit.result.control!.trainAccuracy).toBe(control.result.task.trainAccuracy);
    expect(fit.result.selectivity).toBe(
      fit.result.task.heldOutAccuracy - fit.result.control!.heldOutAccuracy,
    );
  });
});

describe("probing through the engine", () => {
  it("captured features equal the float64 reference forward's site values at the probed positions", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(1000), async (c, seed) => {
        const w = randomWeights(c, seed);
        const prompts = [
          Array.from({ length: 5 }, (_, p) => (seed + 3 * p) % c.vocabSize),
          Array.from({ length: 3 }, (_, p) => (seed + 5 * p + 1) % c.vocabSize),
        ];
        const positions = [[0, 4, 2], [1]];
        const site = `blocks.${c.nLayers - 1}.resid_post`;
        const f = await withCache((cache) =>
          Effect.map(
            captureFeatures(cache, { config: c, weights: w }, [site], { prompts, positions }),
            (m) => m.get(site)!,
          ),
        );
        const rows = [
          [0, 0],
          [0, 4],
          [0, 2],
          [1, 1],
        ] as const;
        expect(Array.from(f.group)).toEqual([0, 0, 0, 1]);
        rows.forEach(([b, p], r) => {
          const ref = referenceForward(c, w, [prompts[b]!], { sites: [site] }).sites.get(site)!;
          expect(f.token[r]).toBe(prompts[b]![p]);
          for (let k = 0; k < c.dModel; k++) {
            const want = ref.data[p * c.dModel + k]!;
            expect(Math.abs(f.X[r * c.dModel + k]! - want)).toBeLessThan(1e-4 * (1 + Math.abs(want)));
          }
        });
      }),
      { numRuns: 8, seed: 2 },
    );
  });

  it("induction model: the previous token is at chance before layer 0 and exact after the PREV head", async () => {
    const m = inductionModel();
    const results = await withCache((cache) =>
      prevTokenProbe(cache, m, { seed: 1, prompts: 64, length: 16 }),
    );
    const at = (s: string) => results.find((r) => r.site === s)!;
    const chance = at("blocks.0.resid_pre").chance;
    expect(chance).toBeCloseTo(1 / 31, 10);
    // resid_pre of layer 0 holds TOK(t_p) + POS(p), independent of t_{p−1}
    expect(at("blocks.0.resid_pre").task.heldOutAccuracy).toBeLessThan(0.12);
    // … but the current token: the control (type = current token) is decoded exactly
    expect(at("blocks.0.resid_pre").control!.heldOutAccuracy).toBeGreaterThan(0.97);
    for (const s of ["blocks.0.attn_out", "blocks.1.resid_pre", "blocks.1.resid_post"]) {
      expect(at(s).task.heldOutAccuracy, s).toBeGreaterThan(0.99);
    }
    // attn_out carries PREV and the distractor's 8 JUNK dims, not TOK: high selectivity there
    expect(at("blocks.0.attn_out").selectivity!).toBeGreaterThan(0.7);
    // the stream keeps TOK, so the control is decoded too and selectivity is ≈ 0 at best
    expect(Math.abs(at("blocks.1.resid_pre").selectivity!)).toBeLessThan(0.05);
  });

  it("a single head's slice: attn.z of the previous-token head a0.h1 decodes the previous token", async () => {
    const m = inductionModel();
    const data = prevTokenData({ seed: 4, prompts: 48, length: 12, vocabSize: 32 });
    const [h1, h0] = await withCache((cache) =>
      Effect.all([
        probe(cache, m, spec({ site: "blocks.0.attn.hook_z", head: 1, seed: 4 }), data),
        probe(cache, m, spec({ site: "blocks.0.attn.z", head: 0, seed: 4 }), data),
      ]),
    );
    expect(h1.dim).toBe(32);
    expect(h1.task.heldOutAccuracy).toBeGreaterThan(0.99);
    // a0.h0 is a zero head: all-zero features, the probe can only predict a constant
    expect(h0.task.heldOutAccuracy).toBeLessThanOrEqual(h0.task.majorityBaseline + 1e-12);
  });

  it("bad input is an InputError naming the field", async () => {
    const m = inductionModel({ vocabSize: 8, nCtx: 8 });
    const data = { prompts: [[0, 1, 2]], positions: [[1, 2]], labels: [[1, 2]] };
    const fail = (s: Record<string, unknown>, d: typeof data | Record<string, unknown>) =>
      withCache((cache) => Effect.flip(probeWithFit(cache, m, spec(s), d as typeof data)));
    const e1 = await fail({ site: "blocks.0.resid_pree" }, data);
    expect(e1).toBeInstanceOf(InputError);
    expect((e1 as InputError).field).toBe("site");
    const e2 = await fail({ site: "blocks.0.resid_pre" }, { ...data, labels: [[1]] });
    expect((e2 as InputError).field).toBe("data.labels[0]");
    const e3 = await fail({ site: "blocks.0.resid_pre" }, { ...data, positions: [[1, 3]] });
    expect((e3 as InputError).field).toBe("data.positions[0][1]");
    const e4 = await fail({ site: "blocks.0.resid_pre", head: 0 }, data);
    expect((e4 as InputError).field).toBe("head");
    // one prompt cannot be split into train and held-out
    const e5 = await fail({ site: "blocks.0.resid_pre" }, data);
    expect((e5 as InputError).field).toBe("data.prompts");
  });
});
