import { Effect, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { type ModelConfig, randomWeights } from "../model/index.ts";
import { referenceForward } from "../reference/index.ts";
import { forward, makeSessionCache } from "../runtime/index.ts";
import { maxAbsDiff } from "../testing/compare.ts";
import { Ablation, resolveAblation } from "./ablation.ts";
import { runPlan } from "./run.ts";
import { plan } from "./spec.ts";

const c: ModelConfig = {
  name: "ablation-test",
  family: "zoo",
  dModel: 8,
  nLayers: 2,
  nHeads: 2,
  nKvHeads: 2,
  dHead: 4,
  dMlp: 12,
  gatedMlp: false,
  act: "gelu_tanh",
  vocabSize: 13,
  nCtx: 12,
  positional: "learned",
  rotary: null,
  norm: "layernorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 0.5,
};
const w = randomWeights(c, 7);
const model = { config: c, weights: w };
const run = <A, E>(
  f: (cache: Effect.Effect.Success<ReturnType<typeof makeSessionCache>>) => Effect.Effect<A, E>,
) => Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("abl"), f)));

/** Resolve an ablation (validated from JSON, as an experiment file would give it) and run it. */
const ablate = (json: unknown, clean: number[][], data: Parameters<typeof resolveAblation>[4]) =>
  run((cache) =>
    Effect.gen(function* () {
      const a = Schema.decodeUnknownSync(Ablation)(json);
      const r = yield* resolveAblation(cache, model, a, clean, data);
      return yield* runPlan(cache, model, plan({ interventions: [r.intervention] }), clean, {
        interventions: [r.values],
      });
    }),
  );

describe("ablations as data", () => {
  const clean = [
    [1, 2, 3, 4, 5],
    [6, 7, 8, 9, 10],
  ];

  it("zero ablation of one head's z equals zeroing that head's rows of W_O", async () => {
    const got = await ablate({ _tag: "zero", target: { site: "blocks.1.attn.z", heads: [1] } }, clean, {});
    const WO = w.get("blocks.1.attn.W_O")!;
    const zeroed = WO.data.slice();
    zeroed.fill(0, 1 * 4 * 8, 2 * 4 * 8); // W_O [H, d_head, d]: head 1's rows
    const expected = await run((cache) =>
      forward(
        cache,
        { config: c, weights: new Map(w).set("blocks.1.attn.W_O", { data: zeroed, shape: WO.shape }) },
        clean,
      ),
    );
    expect(maxAbsDiff(got.logits!.data, expected.logits.data)).toBeLessThan(1e-5);
  });

  it("mean-positional ablation equals the float64 reference with the per-position mean hooked in", async () => {
    const reference = [
      [3, 1, 4, 1, 5, 9],
      [2, 6, 5, 3],
      [5, 8, 9, 7, 9],
    ];
    const site = "blocks.0.resid_post";
    const got = await ablate({ _tag: "mean-positional", target: { site } }, clean, {
      reference,
      chunkSize: 2,
    });
    // Independent mean: each reference sequence alone through the naive forward.
    const sums = new Float64Array(6 * 8);
    const counts = new Float64Array(6);
    for (const seq of reference) {
      const x = referenceForward(c, w, [seq], { sites: [site] }).sites.get(site)!;
      for (let p = 0; p < seq.length; p++) {
        counts[p]! += 1;
        for (let i = 0; i < 8; i++) sums[p * 8 + i]! += x.data[p * 8 + i]!;
      }
    }
    const expected = referenceForward(c, w, clean, {
      hooks: (s, v) =>
        s === site
          ? v.map((_, j) => sums[(Math.floor(j / 8) % 5) * 8 + (j % 8)]! / counts[Math.floor(j / 8) % 5]!)
          : undefined,
    });
    expect(maxAbsDiff(got.logits!.data, expected.logits.data)).toBeLessThan(1e-4);
  });

  it("resample ablation of layer 0's resid_pre at every position gives the corrupted run", async () => {
    const corrupted = [
      [11, 12, 0, 1, 2],
      [3, 3, 3, 3, 3],
    ];
    const got = await ablate({ _tag: "resample", target: { site: "blocks.0.resid_pre" } }, clean, {
      corrupted,
      perm: [1, 0],
    });
    const expected = await run((cache) => forward(cache, model, [corrupted[1]!, corrupted[0]!]));
    expect(maxAbsDiff(got.logits!.data, expected.logits.data)).toBeLessThan(1e-6);
  });

  it("interchange between prompts of different lengths: the last layer's output at the last position carries the source's prediction", async () => {
    const base = [[1, 2, 3, 4, 5, 6, 7]];
    const source = [[9, 8, 7]];
    const got = await ablate(
      {
        _tag: "interchange",
        target: { site: "blocks.1.resid_post", positions: [[6]] },
        sourcePositions: [[2]],
      },
      base,
      { corrupted: source },
    );
    const src = await run((cache) => forward(cache, model, source));
    expect(
      maxAbsDiff(got.logits!.data.subarray(6 * 13, 7 * 13), src.logits.data.subarray(2 * 13, 3 * 13)),
    ).toBeLessThan(1e-5);
  });

  it("malformed ablations and missing data are typed errors", async () => {
    expect(() => Schema.decodeUnknownSync(Ablation)({ _tag: "mean", target: {} })).toThrow(/site/);
    await expect(ablate({ _tag: "mean", target: { site: "embed" } }, clean, {})).rejects.toThrow(
      /reference dataset/,
    );
    await expect(
      ablate({ _tag: "resample", target: { site: "embed" } }, clean, {
        corrupted: [
          [1, 2],
          [3, 4],
        ],
      }),
    ).rejects.toThrow(/one length/);
    await expect(
      ablate({ _tag: "interchange", target: { site: "embed" }, sourcePositions: [[0], [0]] }, clean, {
        corrupted: clean,
      }),
    ).rejects.toThrow(/per-example base positions/);
  });
});
