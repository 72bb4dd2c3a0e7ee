import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { findTokenizer } from "@patchbay/core/tokenizer";
import { forward, makeSessionCache } from "@patchbay/core/runtime";
import { loadModelSync } from "@patchbay/core/weights";
import { randomWeights, type Weights } from "@patchbay/core/model";
import { inductionCircuit, inductionModel, inductionTask } from "../induction.ts";
import { circuitJson, groundTruthCircuit, type PatchingTask } from "./circuit.ts";
import { greaterThanTrainTask, greaterThanVocab, trainedGreaterThanConfig } from "./greater-than.ts";
import { inductionTrainTask, inductionVocab, trainedInductionConfig } from "./induction.ts";
import { ioiTrainTask, ioiVocab, trainedIoiConfig } from "./ioi.ts";
import { saveTransformerLensFolder } from "./save.ts";
import { train } from "./train.ts";

const config = trainedInductionConfig();
const init = randomWeights(config, 7, { biases: false });
const short = (seed: number) =>
  Effect.runPromise(
    train({ config, weights: init }, inductionTrainTask(), {
      seed,
      steps: 6,
      batchSize: 8,
      lr: 3e-3,
      warmup: 2,
      weightDecay: 0.01,
      heldOut: 16,
      evalEvery: 3,
      threads: 1,
    }),
  );

const same = (a: Weights, b: Weights): boolean =>
  [...a].every(([n, t]) => {
    const u = b.get(n)!.data;
    return t.data.length === u.length && t.data.every((x, i) => Object.is(x, u[i]));
  });

describe("train: determinism", () => {
  it("the same seed gives bit-identical weights and curves; another seed differs", async () => {
    const [a, b, c] = [await short(1), await short(1), await short(2)];
    expect(same(a.weights, b.weights)).toBe(true);
    expect(a.losses).toEqual(b.losses);
    expect(a.curve).toEqual(b.curve);
    expect(same(a.weights, c.weights)).toBe(false);
    expect(same(a.weights, init)).toBe(false);
    expect(a.curve.map((p) => p.step)).toEqual([0, 3, 6]);
  });
});

describe("train: the loss decreases on a tiny run of each task", () => {
  const cases = [
    { name: "induction", config: trainedInductionConfig(), task: inductionTrainTask(), biases: false },
    { name: "ioi", config: trainedIoiConfig(), task: ioiTrainTask(), biases: false },
    { name: "greater-than", config: trainedGreaterThanConfig(), task: greaterThanTrainTask(), biases: true },
  ];
  for (const c of cases)
    it(c.name, async () => {
      const r = await Effect.runPromise(
        train({ config: c.config, weights: randomWeights(c.config, 3, { biases: c.biases }) }, c.task, {
          seed: 5,
          steps: 30,
          batchSize: 16,
          lr: 3e-3,
          warmup: 5,
          heldOut: 64,
          evalEvery: 30,
          threads: 1,
        }),
      );
      const [first, last] = [r.curve[0]!, r.curve[r.curve.length - 1]!];
      console.log(
        `${c.name}: held-out loss ${first.heldOutLoss.toFixed(3)} → ${last.heldOutLoss.toFixed(3)} in 30 steps, ${r.seconds.toFixed(1)} s`,
      );
      expect(last.heldOutLoss).toBeLessThan(0.9 * first.heldOutLoss);
      const early = r.losses.slice(0, 5).reduce((x, y) => x + y) / 5;
      const late = r.losses.slice(-5).reduce((x, y) => x + y) / 5;
      expect(late).toBeLessThan(early);
    });
});

describe("save → load", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  for (const c of [
    {
      config: trainedIoiConfig(),
      vocab: ioiVocab(),
      biases: false,
      text: "When Mary and John went to the store , John gave a drink to",
    },
    {
      config: trainedGreaterThanConfig(),
      vocab: greaterThanVocab(),
      biases: true,
      text: "The war lasted from the year 17 32 to the year 17",
    },
    { config: trainedInductionConfig(), vocab: inductionVocab(), biases: false, text: "t2 t5 t9 t2 t5" },
  ])
    it(`${c.config.name}: config, weights and tokenizer round-trip; logits are identical`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "zoo-save-"));
      dirs.push(dir);
      const weights = randomWeights(c.config, 11, { biases: c.biases });
      saveTransformerLensFolder(dir, { config: c.config, weights }, c.vocab);
      const loaded = loadModelSync(dir);
      expect(loaded.format).toBe("transformerlens");
      const { name, family, ...rest } = loaded.config;
      const { name: _n, family: _f, ...want } = c.config;
      expect(rest).toEqual(want);
      expect(family).toBe("transformerlens");
      // TransformerLens drops all-zero optional biases; random biases are never all zero
      expect([...loaded.weights.keys()].sort()).toEqual([...weights.keys()].sort());
      expect(same(loaded.weights, weights)).toBe(true);
      const tok = await Effect.runPromise(findTokenizer(dir));
      expect(tok).not.toBeNull();
      const ids = tok!.encode(c.text);
      expect(ids).not.toContain(c.vocab.indexOf("<unk>"));
      expect(tok!.decode(ids)).toBe(c.text);
      expect(tok!.bos).toBe(0);
      const logits = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const cache = yield* makeSessionCache("rt");
            const a = yield* forward(cache, { config: c.config, weights }, [ids]);
            const b = yield* forward(cache, loaded, [ids]);
            return [a.logits.data, b.logits.data] as const;
          }),
        ),
      );
      expect(logits[1]).toEqual(logits[0]);
      void name;
    });
});

describe("groundTruthCircuit", () => {
  it("recovers the compiled induction model's known circuit exactly, with faithfulness ≈ 1", async () => {
    const model = inductionModel();
    const t = inductionTask(11, 8);
    const task: PatchingTask = {
      name: "compiled-induction",
      metricName: "logit difference",
      clean: t.clean,
      corrupted: t.corrupted,
      positions: t.positions,
      answers: t.answers,
      wrong: t.wrong,
      metric: (logits, r, b) => {
        const [, P, V] = logits.shape as [number, number, number];
        let s = 0;
        t.positions[b]!.forEach((p, j) => {
          s +=
            logits.data[(r * P + p) * V + t.answers[b]![j]!]! -
            logits.data[(r * P + p) * V + t.wrong[b]![j]!]!;
        });
        return s / t.positions[b]!.length;
      },
    };
    const gt = await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(makeSessionCache("gt"), (cache) => groundTruthCircuit(cache, model, task)),
      ),
    );
    const found = gt.layout.edges.filter((e) => gt.inGraph[e.index] === 1).map((e) => e.name);
    expect(new Set(found)).toEqual(new Set(inductionCircuit({ corrupt: "both" })));
    expect(gt.threshold).toBe(0.05);
    expect(Math.abs(gt.faithfulness - 1)).toBeLessThan(0.02);
    const j = circuitJson(model.config, gt, task);
    expect(Object.keys(j.edges).length).toBe(gt.layout.edges.length);
    expect(j.edges["a1.h2->logits"]!.in_graph).toBe(true);
    expect(j.nodes["a0.h1"]).toEqual({ in_graph: true });
    expect(j.nodes["a0.h3"]).toEqual({ in_graph: false });
    expect(j.nodes.logits).toEqual({ in_graph: true });
  });
});
