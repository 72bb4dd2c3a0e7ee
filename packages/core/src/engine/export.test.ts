import { Effect } from "effect";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { edgeLayout } from "../edges/layout.ts";
import { InputError } from "../errors/index.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { makeSessionCache } from "../runtime/index.ts";
import { exportPlan } from "./export.ts";
import { runPlan } from "./run.ts";
import { plan } from "./spec.ts";

/**
 * An exported plan run by a fresh onnxruntime session gives runPlan's numbers: the edge-masked
 * graph with a random mask on the tiny GPT-2 fixture (ragged prompts), metric per example.
 */
describe("exportPlan", () => {
  it("the exported edge-masked graph and its feeds reproduce runPlan's metric", async () => {
    const model = loadModelSync(testdataPath("fixtures", "tiny-gpt2"));
    const c = model.config;
    const layout = edgeLayout(c, "head");
    const seqs = [
      [1, 2, 3, 4, 5, 6],
      [7, 8, 9, 10],
    ];
    const S = layout.sources.length;
    const D = layout.destinations.length;
    const mask = Float32Array.from({ length: 2 * S * D }, (_, i) => ((i * 7919) % 5 === 0 ? 0 : 1));
    const ablated = Float32Array.from({ length: 2 * 6 * S * c.dModel }, (_, i) => Math.sin(i) * 0.1);
    const p = plan({ metric: { kind: "logit-diff" }, edges: { granularity: "head" }, logits: false });
    const values = {
      metric: { positions: [[5], [3]], answers: [[11], [12]], wrong: [[13], [14]] },
      edges: {
        mask: { data: mask, shape: [2, S, D] },
        ablated: { data: ablated, shape: [2, 6, S, c.dModel] },
      },
    };
    const want = await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(makeSessionCache("export-test", { threads: 1 }), (cache) =>
          runPlan(cache, model, p, seqs, values),
        ),
      ),
    );
    const out = await Effect.runPromise(exportPlan(model, p, seqs, values));
    const session = await ort.InferenceSession.create(out.onnx, { intraOpNumThreads: 1 });
    expect([...session.inputNames].sort()).toEqual(Object.keys(out.feeds).sort());
    const got = await session.run(
      Object.fromEntries(
        Object.entries(out.feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, [...f.dims])]),
      ),
    );
    const metric = got.metric!.data as Float32Array;
    expect(metric).toHaveLength(2);
    metric.forEach((x, b) => {
      expect(x).toBeCloseTo(want.metric!.perExample[b]!, 5);
    });
  });

  it("a missing metric binding is an InputError naming values.metric", async () => {
    const model = loadModelSync(testdataPath("fixtures", "tiny-gpt2"));
    const e = await Effect.runPromise(
      Effect.flip(exportPlan(model, plan({ metric: { kind: "logit-diff" } }), [[1, 2]])),
    );
    expect(e).toBeInstanceOf(InputError);
    expect(e.field).toBe("values.metric");
  });
});
