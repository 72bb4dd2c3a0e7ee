import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { randomWeights } from "@patchbay/core/model";
import { referenceForward } from "@patchbay/core/reference";
import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbConfig } from "../../../core/src/reference/arbitraries.ts";
import { causalModel, type Setting } from "../model/causal-model.ts";
import { counterfactuals } from "../model/counterfactuals.ts";
import type { CausalTask } from "../task/task.ts";
import { iia } from "./iia.ts";

/**
 * The network read as its own high-level model: inputs X_0 … X_{n−1} (tokens), H = the site's
 * vector at position p, Y = argmax of the logits at the last position with H written back. Its
 * mechanisms run the float64 reference forward (packages/core/src/reference), an implementation
 * independent of the ORT graph and the engine. Aligned by identity (H ↔ the full vector of that
 * site at p), the network must reproduce every counterfactual: IIA = 1.
 */
const RESIDUAL_SITES = ["resid_pre", "attn_out", "resid_post"] as const;

describe("a model aligned with itself by identity has IIA 1 (fast-check)", () => {
  it("over random configs, sites and positions", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig({ maxLayers: 2 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 2, max: 6 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        async (config, seed, n0, siteIdx, layerIdx, posIdx) => {
          const n = Math.min(n0, config.nCtx);
          const weights = randomWeights(config, seed);
          const site = `blocks.${layerIdx % config.nLayers}.${RESIDUAL_SITES[siteIdx % RESIDUAL_SITES.length]}`;
          const p = posIdx % n;
          const d = config.dModel;
          const X = Array.from({ length: n }, (_, i) => `X${i}`);
          const ids = (s: Setting) => X.map((x) => s[x] as number);
          const tokens = Array.from({ length: config.vocabSize }, (_, t) => t);
          // reference logits at the last position, with the site at p optionally overwritten
          const lastLogits = (s: Setting, h: readonly number[] | null): Float64Array => {
            const ref = referenceForward(config, weights, [ids(s)], {
              hooks: (name, value) => {
                if (name !== site || h === null) return undefined;
                const out = Float64Array.from(value);
                out.set(h, p * d);
                return out;
              },
            });
            const V = config.vocabSize;
            return ref.logits.data.slice((n - 1) * V, n * V);
          };
          const argmax = (row: Float64Array) => row.reduce((best, v, i) => (v > row[best]! ? i : best), 0);
          const model = causalModel({
            name: "network",
            variables: [
              ...X.map((name) => ({ name, values: tokens, parents: [] })),
              {
                name: "H",
                parents: X,
                mechanism: (s: Setting) => {
                  const ref = referenceForward(config, weights, [ids(s)], { sites: [site] });
                  return Array.from(ref.sites.get(site)!.data.slice(p * d, (p + 1) * d));
                },
              },
              {
                name: "Y",
                values: tokens,
                parents: [...X, "H"],
                mechanism: (s: Setting) => argmax(lastLogits(s, s.H as number[])),
              },
            ],
            output: "Y",
          });
          const task: CausalTask = {
            name: "network-identity",
            model,
            families: [{ name: "H", variables: [["H"]] }],
            encode: ids,
            label: (y) => y as number,
          };
          const data = counterfactuals(model, task.families[0]!, { n: 12, seed, requireChange: false });
          // float32 (ORT) and float64 agree on the argmax unless the top two logits nearly tie
          const clear = data.filter((e) => {
            const h = model.variables.get("H")!.mechanism!({ ...e.sources[0]! });
            const row = [...lastLogits(e.base, h as number[])].sort((a, b) => b - a);
            return row[0]! - row[1]! > 1e-3;
          });
          const r = await Effect.runPromise(
            Effect.scoped(
              Effect.flatMap(makeSessionCache("causal-identity", { threads: 1 }), (cache: SessionCache) =>
                iia(
                  cache,
                  { config, weights },
                  task,
                  [{ variable: "H", site, positions: [{ index: p }], subspace: "full" }],
                  clear,
                ),
              ),
            ),
          );
          expect(r.n).toBe(clear.length);
          expect(r.accuracy === 1 || r.n === 0).toBe(true);
        },
      ),
      { numRuns: 12, seed: 7 },
    );
  });
});
