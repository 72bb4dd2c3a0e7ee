import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ModelConfig, mulberry32, randomWeights, type Weights } from "../model/index.ts";
import { siteCatalog, siteShape } from "../model/sites.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { gradLabel } from "./run.ts";
import type { GradTarget } from "./spec.ts";
import { base, ids, metric, metricOf } from "./test-support.ts";

/**
 * Engine gradients and interventions against the naive float64 reference forward (hooks), the
 * oracle written independently of the builder; gradients.test.ts checks them against finite
 * differences of the engine's own metric.
 */

describe("weight gradients against float64 finite differences through the naive reference forward", () => {
  it("random models of every family: autodiff (float32 graph) vs FD (float64 oracle)", async () => {
    const { referenceForward } = await import("../reference/index.ts");
    // Naive logit-diff metric in float64 on the reference logits (batch mean of per-example means).
    const naiveMetric = (c: ModelConfig, w: Weights): number => {
      const m = metric(c);
      const { logits } = referenceForward(c, w, ids(c));
      const V = c.vocabSize;
      const P = 4;
      let total = 0;
      m.positions.forEach((ps, b) => {
        let s = 0;
        ps.forEach((p, j) => {
          const row = (b * P + p) * V;
          s += logits.data[row + m.answers[b]![j]!]! - logits.data[row + m.wrong![b]![j]!]!;
        });
        total += s / ps.length;
      });
      return total / m.positions.length;
    };
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(1000), async (c, seed) => {
        const w = randomWeights(c, seed);
        const names = [
          "embed.W_E",
          "blocks.0.attn.W_Q",
          "blocks.0.attn.b_Q",
          "blocks.0.attn.b_K",
          "blocks.0.attn.W_V",
          "blocks.0.attn.W_O",
          "unembed.W_U",
        ].concat(c.dMlp !== null ? ["blocks.0.mlp.W_in"] : []);
        const targets: GradTarget[] = names.map((name) => ({ _tag: "weight", name }));
        const r = await metricOf(c, w, base({ gradients: targets }), { metric: metric(c) });
        for (const t of targets) {
          const name = (t as { name: string }).name;
          const grad = r.grads.get(gradLabel(t))!;
          const order = Array.from(grad.data.keys()).sort(
            (a, b) => Math.abs(grad.data[b]!) - Math.abs(grad.data[a]!),
          );
          for (const i of order.slice(0, 2)) {
            // The weights are float32: the step actually taken is fl32(w ± h) − w, known exactly.
            const w0 = w.get(name)!.data[i]!;
            const moved = (h: number) => {
              const data = w.get(name)!.data.slice();
              data[i] = w0 + h;
              return {
                weights: new Map(w).set(name, { data, shape: w.get(name)!.shape }),
                step: data[i]! - w0,
              };
            };
            const up = moved(1e-3);
            const down = moved(-1e-3);
            const fd = (naiveMetric(c, up.weights) - naiveMetric(c, down.weights)) / (up.step - down.step);
            // float64 FD with h = 1e-3: truncation ≈ h²·f‴ ≲ 1e-6; the autodiff side is float32.
            expect(
              Math.abs(grad.data[i]! - fd),
              `${name}[${i}]: ${grad.data[i]} vs ${fd}`,
            ).toBeLessThanOrEqual(1e-4 + 2e-3 * Math.abs(fd));
          }
        }
      }),
      { numRuns: 6, seed: 23 },
    );
  });
});

describe("site gradients and interventions against the float64 naive reference (hooks)", () => {
  const hookable = ["embed", "resid_pre", "attn_out", "resid_mid", "mlp_in", "mlp_out", "resid_post"];
  const pickHookable = (c: ModelConfig, k: number) => {
    const all = siteCatalog(c).filter((s) => hookable.some((h) => s.name === h || s.name.endsWith(`.${h}`)));
    return all[k % all.length]!;
  };

  it("an add intervention in the engine equals the same hook in the reference, at every residual site", async () => {
    const { referenceForward } = await import("../reference/index.ts");
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(), fc.nat(1000), async (c, k, seed) => {
        const w = randomWeights(c, seed);
        const site = pickHookable(c, k);
        const shape = siteShape(site, c, 2, 4);
        const rand = mulberry32(seed);
        const delta = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() - 0.5);
        const engine = await metricOf(
          c,
          w,
          {
            ...base({ interventions: [{ _tag: "add", shape: "full", target: { site: site.name } }] }),
            logits: true,
          },
          {
            metric: metric(c),
            interventions: [{ value: { data: delta, shape } }],
          },
        );
        const ref = referenceForward(c, w, ids(c), {
          hooks: (s, v) => (s === site.name ? v.map((x, i) => x + delta[i]!) : undefined),
        });
        let worst = 0;
        ref.logits.data.forEach((x, i) => {
          worst = Math.max(worst, Math.abs(x - engine.logits!.data[i]!) / (1 + Math.abs(x)));
        });
        expect(worst, site.name).toBeLessThan(1e-4);
      }),
      { numRuns: 15, seed: 31 },
    );
  });

  /** ∂metric/∂site from the engine against float64 central differences through the reference, at the largest coordinates and one more. */
  const siteGradientAgrees = async (c: ModelConfig, w: Weights, site: string, extra: number) => {
    const { referenceForward } = await import("../reference/index.ts");
    const t: GradTarget = { _tag: "site", site };
    const grad = (await metricOf(c, w, base({ gradients: [t] }), { metric: metric(c) })).grads.get(
      gradLabel(t),
    )!;
    const m = metric(c);
    const naive = (i: number, h: number): number => {
      const { logits } = referenceForward(c, w, ids(c), {
        hooks: (s, v) => {
          if (s !== site) return undefined;
          const out = v.slice();
          out[i]! += h;
          return out;
        },
      });
      const V = c.vocabSize;
      let total = 0;
      m.positions.forEach((ps, b) => {
        let sum = 0;
        ps.forEach((p, j) => {
          sum +=
            logits.data[(b * 4 + p) * V + m.answers[b]![j]!]! -
            logits.data[(b * 4 + p) * V + m.wrong![b]![j]!]!;
        });
        total += sum / ps.length;
      });
      return total / m.positions.length;
    };
    const order = Array.from(grad.data.keys()).sort(
      (a, b) => Math.abs(grad.data[b]!) - Math.abs(grad.data[a]!),
    );
    for (const i of [...order.slice(0, 3), extra % grad.data.length]) {
      // float64, h = 1e-4: truncation h²·f‴ ≈ 1e-8, rounding 1e-16/h ≈ 1e-12 — the error left is
      // the float32 graph's own (≈ 1e-6 relative per op).
      const fd = (naive(i, 1e-4) - naive(i, -1e-4)) / 2e-4;
      expect(Math.abs(grad.data[i]! - fd), `${site}[${i}]: ${grad.data[i]} vs ${fd}`).toBeLessThanOrEqual(
        1e-4 + 1e-3 * Math.abs(fd),
      );
    }
  };

  it("∂metric/∂site from the engine = float64 central differences through the reference", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(), fc.nat(1000), (c, k, seed) =>
        siteGradientAgrees(c, randomWeights(c, seed), pickHookable(c, k).name, seed),
      ),
      { numRuns: 20, seed: 32 },
    );
  });

  it("on the fixtures of the new families (Qwen2's q/k/v biases, Llama 3's scaled rotary): every hookable site", async () => {
    for (const name of ["tiny-qwen2", "tiny-llama3"]) {
      const { config, weights } = loadModelSync(testdataPath("fixtures", name));
      const sites = siteCatalog(config).filter((s) =>
        hookable.some((h) => s.name === h || s.name.endsWith(`.${h}`)),
      );
      for (const [k, site] of sites.entries())
        await siteGradientAgrees(config, weights, site.name, 7 * k + 5);
    }
  });
});
