import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InputError } from "@patchbay/core/errors";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { type ModelConfig, mulberry32, randomWeights, type Weights } from "@patchbay/core/model";
import { referenceForward } from "@patchbay/core/reference";
import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbConfig } from "../../../core/src/reference/arbitraries.ts";
import { loadTunedLens, saveTunedLens } from "./artifact.ts";
import { evaluateLens, lensLogits } from "./evaluate.ts";
import { klLogits } from "./numeric.ts";
import { finalSite } from "./sites.ts";
import { decodeLensEvalSpec, decodeTunedLensTrainSpec } from "./spec.ts";
import { trainTunedLens, tunedLensGradient } from "./train.ts";
import type { TunedLens } from "./translator.ts";

const withCache = <A, E>(name: string, f: (cache: SessionCache) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache(name, { threads: 1 }), f)));

const randomPrompts = (c: ModelConfig, seed: number, n: number, lo: number, hi: number): number[][] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: lo + Math.floor(r() * (hi - lo + 1)) }, () => Math.floor(r() * c.vocabSize)),
  );
};

/** Every residual site of a model: resid_pre, resid_mid (serial blocks), resid_post. */
const residualSites = (c: ModelConfig): string[] =>
  Array.from({ length: c.nLayers }, (_, l) => [
    `blocks.${l}.resid_pre`,
    ...(c.parallelResidual ? [] : [`blocks.${l}.resid_mid`]),
    `blocks.${l}.resid_post`,
  ]).flat();

/**
 * The naive lens, float64, plain loops: h from the reference forward, then LN_f as the config
 * says (LayerNorm (x − μ)/√(σ² + ε)·w + b, RMSNorm x/√(mean x² + ε)·w, or none) and W_U h + b_U,
 * soft-capped as cap·tanh(·/cap) when the model caps its logits (Gemma 2).
 */
const naiveLens = (c: ModelConfig, w: Weights, h: Float64Array): Float64Array => {
  const d = c.dModel;
  const V = c.vocabSize;
  const rows = h.length / d;
  const WU = w.get("unembed.W_U")!.data;
  const bU = w.get("unembed.b_U")?.data;
  const lw = w.get("ln_final.w")?.data;
  const lb = w.get("ln_final.b")?.data;
  const out = new Float64Array(rows * V);
  for (let r = 0; r < rows; r++) {
    const x = h.subarray(r * d, (r + 1) * d);
    let n = Float64Array.from(x);
    if (c.norm === "layernorm") {
      const mu = x.reduce((a, v) => a + v, 0) / d;
      const v2 = x.reduce((a, v) => a + (v - mu) ** 2, 0) / d;
      n = n.map((v, i) => ((v - mu) / Math.sqrt(v2 + c.normEps)) * lw![i]! + lb![i]!);
    } else if (c.norm === "rmsnorm") {
      const ms = x.reduce((a, v) => a + v * v, 0) / d;
      n = n.map((v, i) => (v / Math.sqrt(ms + c.normEps)) * lw![i]!);
    }
    for (let t = 0; t < V; t++) {
      let s = bU === undefined ? 0 : bU[t]!;
      for (let i = 0; i < d; i++) s += n[i]! * WU[i * V + t]!;
      out[r * V + t] = c.finalSoftcap == null ? s : c.finalSoftcap * Math.tanh(s / c.finalSoftcap);
    }
  }
  return out;
};

describe("logit lens through the engine", () => {
  it("matches a naive float64 lens at every residual site, and the last resid_post decodes to the final logits (random configs)", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 3 }), fc.integer({ min: 0, max: 1000 }), async (c, seed) => {
        const weights = randomWeights(c, seed);
        const model = { config: c, weights };
        const P = Math.min(6, c.nCtx);
        const prompts = randomPrompts(c, seed + 1, 2, P, P); // equal lengths: the reference takes no padding
        const sites = residualSites(c);
        const L = await withCache("lens-arb", (cache) => lensLogits(cache, model, sites, prompts));
        const ref = referenceForward(c, weights, prompts, { sites });
        let worst = 0;
        let scale = 0;
        sites.forEach((s, i) => {
          const want = naiveLens(c, weights, ref.sites.get(s)!.data);
          const got = L.logit[i]!.data;
          expect(got.length).toBe(want.length);
          for (let j = 0; j < want.length; j++) {
            worst = Math.max(worst, Math.abs(got[j]! - want[j]!));
            scale = Math.max(scale, Math.abs(want[j]!));
          }
        });
        expect(worst).toBeLessThan(1e-4 * Math.max(1, scale));
        // the final residual decodes to the model's logits: KL = 0 at every position
        const last = sites.indexOf(finalSite(c));
        const V = c.vocabSize;
        for (let r = 0; r < prompts.length * P; r++) {
          const kl = klLogits(
            L.final.data.subarray(r * V, (r + 1) * V),
            L.logit[last]!.data.subarray(r * V, (r + 1) * V),
          );
          expect(Math.abs(kl)).toBeLessThan(1e-6);
        }
      }),
      { numRuns: 6, seed: 8101 },
    );
  });

  it("rejects non-residual and unknown sites with an InputError naming the field", async () => {
    const c: ModelConfig = fc.sample(arbConfig({ maxLayers: 2 }), { numRuns: 1, seed: 3 })[0]!;
    const model = { config: c, weights: randomWeights(c, 1) };
    const prompts = randomPrompts(c, 2, 1, 3, 3);
    for (const [sites, field] of [
      [["blocks.0.attn_out"], "sites[0]"],
      [["blocks.0.resid_post", "blocks.9.resid_post"], "sites[1]"],
    ] as const) {
      const e = await withCache("lens-err", (cache) =>
        Effect.flip(evaluateLens(cache, model, { sites, topK: 3, tablePrompt: 0 }, { prompts })),
      );
      expect((e as InputError)._tag).toBe("InputError");
      expect((e as InputError).field).toBe(field);
    }
  });
});

describe("tuned lens", () => {
  const c: ModelConfig = {
    name: "lens-toy",
    family: "zoo",
    dModel: 12,
    nLayers: 3,
    nHeads: 2,
    nKvHeads: 2,
    dHead: 6,
    dMlp: 24,
    gatedMlp: false,
    act: "gelu",
    vocabSize: 23,
    nCtx: 16,
    positional: "learned",
    rotary: null,
    norm: "layernorm",
    normEps: 1e-5,
    parallelResidual: false,
    attnScale: 1 / Math.sqrt(6),
  };
  const weights = randomWeights(c, 11);
  const model = { config: c, weights };
  const prompts = randomPrompts(c, 5, 6, 4, 9); // ragged: padding must carry no loss

  it("engine gradient of the KL through the translator matches float64 finite differences", async () => {
    const d = c.dModel;
    const r = mulberry32(9);
    const A = Float32Array.from({ length: d * d }, () => (r() - 0.5) * 0.2);
    const b = Float32Array.from({ length: d }, () => (r() - 0.5) * 0.2);
    const site = "blocks.1.resid_mid";
    const lens: TunedLens = { model: c.name, dModel: d, translators: [{ site, A, b }] };
    const g = await withCache("lens-grad", (cache) => tunedLensGradient(cache, model, lens, { prompts }));
    // float64 oracle: L(A, b) = mean_prompts mean_pos KL(final ‖ naive lens of T(h)), h from the reference
    const h = prompts.map((p) => referenceForward(c, weights, [p], { sites: [site] }).sites.get(site)!.data);
    const fin = prompts.map((p) => referenceForward(c, weights, [p]).logits.data);
    const loss = (A64: Float64Array, b64: Float64Array): number => {
      let tot = 0;
      prompts.forEach((p, k) => {
        const x = h[k]!;
        const t = new Float64Array(x.length);
        for (let q = 0; q < p.length; q++)
          for (let i = 0; i < d; i++) {
            let s = x[q * d + i]! + b64[i]!;
            for (let j = 0; j < d; j++) s += A64[i * d + j]! * x[q * d + j]!;
            t[q * d + i] = s;
          }
        const lg = naiveLens(c, weights, t);
        const V = c.vocabSize;
        let s = 0;
        for (let q = 0; q < p.length; q++)
          s += klLogits(fin[k]!.subarray(q * V, (q + 1) * V), lg.subarray(q * V, (q + 1) * V));
        tot += s / p.length;
      });
      return tot / prompts.length;
    };
    const A64 = Float64Array.from(A);
    const b64 = Float64Array.from(b);
    expect(Math.abs(g.kl[0]! - loss(A64, b64))).toBeLessThan(1e-4);
    const eps = 1e-4;
    const checks: [string, number, number][] = [];
    for (const idx of [0, 5, 17, 40, 77, 143]) {
      const ap = Float64Array.from(A64);
      const am = Float64Array.from(A64);
      ap[idx] = ap[idx]! + eps;
      am[idx] = am[idx]! - eps;
      checks.push([`A[${idx}]`, (loss(ap, b64) - loss(am, b64)) / (2 * eps), g.grads[0]!.A[idx]!]);
    }
    for (const idx of [0, 3, 11]) {
      const bp = Float64Array.from(b64);
      const bm = Float64Array.from(b64);
      bp[idx] = bp[idx]! + eps;
      bm[idx] = bm[idx]! - eps;
      checks.push([`b[${idx}]`, (loss(A64, bp) - loss(A64, bm)) / (2 * eps), g.grads[0]!.b[idx]!]);
    }
    const gmax = Math.max(...checks.map(([, fd]) => Math.abs(fd)));
    expect(gmax).toBeGreaterThan(1e-3); // the check is not vacuous
    for (const [name, fd, got] of checks) expect(Math.abs(got - fd), name).toBeLessThan(2e-3 * gmax + 1e-5);
  });

  it("training lowers KL below the logit lens, is deterministic, and a saved artifact reloads to the same KL", async () => {
    const spec = await Effect.runPromise(
      decodeTunedLensTrainSpec({ steps: 60, lr: 0.01, batchSize: 4, seed: 3 }),
    );
    const evalSpec = await Effect.runPromise(decodeLensEvalSpec({}));
    const dir = mkdtempSync(join(tmpdir(), "tuned-lens-"));
    try {
      const out = await withCache("lens-train", (cache) =>
        Effect.gen(function* () {
          const fit = yield* trainTunedLens(cache, model, spec, { prompts });
          const again = yield* trainTunedLens(cache, model, spec, { prompts });
          const report = yield* evaluateLens(cache, model, evalSpec, { prompts }, fit.lens);
          const file = join(dir, "lens.json");
          yield* saveTunedLens(file, fit.lens);
          const loaded = yield* loadTunedLens(file, c);
          const reloaded = yield* evaluateLens(cache, model, evalSpec, { prompts }, loaded.lens);
          return { fit, again, report, reloaded, file };
        }),
      );
      const { fit, again, report, reloaded } = out;
      expect(fit.sites).toEqual(["blocks.0.resid_pre", "blocks.0.resid_post", "blocks.1.resid_post"]);
      expect(report.sites.at(-1)).toBe("blocks.2.resid_post");
      // bit-identical retraining
      fit.lens.translators.forEach((t, i) => {
        expect(Buffer.from(t.A.buffer).equals(Buffer.from(again.lens.translators[i]!.A.buffer))).toBe(true);
      });
      const tuned = report.kl.tuned!;
      console.log(
        `tuned lens (random toy): logit KL ${report.kl.logit.map((x) => x.toFixed(4)).join(", ")} → tuned ${tuned.map((x) => x.toFixed(4)).join(", ")}`,
      );
      for (let i = 0; i < tuned.length - 1; i++) expect(tuned[i]!).toBeLessThan(report.kl.logit[i]!);
      expect(report.kl.logit.at(-1)!).toBeLessThan(1e-6);
      expect(tuned.at(-1)!).toBeLessThan(1e-6);
      expect(reloaded.kl.tuned).toEqual(tuned);
      // layer × position table: every site's row has one cell per position, top-k ordered
      expect(report.table.rows.length).toBe(2 * report.sites.length);
      for (const row of report.table.rows) {
        expect(row.cells.length).toBe(prompts[0]!.length);
        for (const cell of row.cells) {
          expect(cell.top.length).toBe(5);
          for (let k = 1; k < 5; k++) expect(cell.top[k]!.prob).toBeLessThanOrEqual(cell.top[k - 1]!.prob);
        }
      }
      expect(JSON.parse(JSON.stringify(report))).toEqual(report); // plain data
      // corrupted artifacts: typed errors naming file and field
      const good = JSON.parse(readFileSync(out.file, "utf8"));
      const bad = (mut: (a: typeof good) => void) => {
        const a = structuredClone(good);
        mut(a);
        const f = join(dir, "bad.json");
        writeFileSync(f, JSON.stringify(a));
        return Effect.runPromise(Effect.flip(loadTunedLens(f, c)));
      };
      const e1 = await bad((a) => a.translators[1].A.pop());
      expect(e1.field).toBe(`${join(dir, "bad.json")}: translators[1].A`);
      const e2 = await bad((a) => {
        a.dModel = 13;
      });
      expect(e2.field).toMatch(/: dModel$/);
      const e3 = await bad((a) => {
        a.translators[0].site = "blocks.0.attn_out";
      });
      expect(e3.field).toMatch(/: translators\[0\]\.site$/);
      const e4 = await bad((a) => {
        a.format = "something/else";
      });
      expect(e4.field).toMatch(/: format$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
