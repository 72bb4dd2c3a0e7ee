import { statSync } from "node:fs";
import { Effect } from "effect";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { toOnnx } from "../graph/index.ts";
import { fileBacking } from "../tensor/file-backed.ts";
import { numel } from "../tensor/index.ts";
import { testdataPath } from "../testing/testdata.ts";
import { buildTransformerGraph } from "../transformer/index.ts";
import { loadModelSync, spill } from "../weights/index.ts";
import { makeBatch } from "./batch.ts";
import { feeds } from "./forward.ts";
import { forward, makeSessionCache } from "./index.ts";

/**
 * Sessions over spilled weights (issue 16 §4): the host keeps no copy, the ONNX model points into
 * the spill file instead of carrying the bytes, and results are bit-identical to weights on the heap.
 */
const model = loadModelSync(testdataPath("fixtures/tiny-llama"));
const ids = [
  [1, 5, 9, 2, 6, 5, 3],
  [8, 9, 7, 9],
];

/** Whether `needle` occurs in `hay` (byte for byte). */
const contains = (hay: Uint8Array, needle: Uint8Array): boolean =>
  Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).includes(
    Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength),
  );
const bytesOf = (d: Float32Array) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

describe("sessions over spilled weights", () => {
  it("lowers to a model that points into the spill file instead of carrying the weights", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const spilled = yield* spill(model.weights);
          const WU = model.weights.get("unembed.W_U")!.data;
          const heap = toOnnx(buildTransformerGraph(model.config, model.weights).graph);
          expect(heap.external).toBeNull();
          expect(contains(heap.model, bytesOf(WU))).toBe(true); // inline: the bytes are in the model
          const lowered = toOnnx(buildTransformerGraph(model.config, spilled).graph);
          expect(contains(lowered.model, bytesOf(WU))).toBe(false);
          const spillFile = fileBacking(spilled.get("unembed.W_U")!)!.file;
          const links = lowered.external!.filter((f) => "target" in f);
          expect(links).toEqual([{ path: "linked-0.bin", target: spillFile }]);
          // Only what the graph derives (each layer's fused W_QKV) is written out as new bytes.
          const { dModel: d, nHeads: H, nKvHeads: K, dHead: dh, nLayers: L } = model.config;
          const written = lowered.external!.flatMap((f) => ("data" in f ? [f.data.length] : []));
          expect(written).toEqual(Array.from({ length: L }, () => d * (H + 2 * K) * dh * 4));
          expect(written.reduce((a, b) => a + b, 0)).toBeLessThan(
            [...model.weights.values()].reduce((s, t) => s + numel(t.shape) * 4, 0) / 2,
          );
        }),
      ),
    );
  });

  it("gives bit-identical logits, and the session links the spill file rather than copying it", async () => {
    const logits = (spilled: boolean) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const weights = spilled ? yield* spill(model.weights) : model.weights;
            const cache = yield* makeSessionCache(model.config.name);
            const out = yield* forward(cache, { config: model.config, weights }, ids);
            const backing = fileBacking(weights.get("unembed.W_U")!);
            // a hard link from the session's folder: two names, one copy of the bytes
            const links = backing === undefined ? 0 : statSync(backing.file).nlink;
            return { data: out.logits.data, links };
          }),
        ),
      );
    const heap = await logits(false);
    const spilled = await logits(true);
    expect(heap.links).toBe(0);
    expect(spilled.links).toBe(2);
    expect(Buffer.from(bytesOf(spilled.data)).equals(Buffer.from(bytesOf(heap.data)))).toBe(true);
  });
});

describe("evicting a method's sessions", () => {
  it("releases only the sessions under the prefix, and a later run builds them again with the same results", async () => {
    const r = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache(model.config.name, { threads: 1 });
          const plain = yield* forward(cache, model, ids);
          const captured = yield* forward(cache, model, ids, ["blocks.0.resid_post"]);
          const before = cache.size();
          const none = yield* cache.evict("no-such-method:");
          const evicted = yield* cache.evict("forward:blocks.");
          const after = cache.size();
          const again = yield* forward(cache, model, ids, ["blocks.0.resid_post"]);
          return { plain, captured, again, before, none, evicted, after, last: cache.size() };
        }),
      ),
    );
    expect([r.before, r.none, r.evicted, r.after, r.last]).toEqual([2, 0, 1, 1, 2]);
    const site = (x: typeof r.again) => x.sites.get("blocks.0.resid_post")!.data;
    expect(Buffer.from(bytesOf(site(r.again))).equals(Buffer.from(bytesOf(site(r.captured))))).toBe(true);
    expect(Buffer.from(bytesOf(r.again.logits.data)).equals(Buffer.from(bytesOf(r.plain.logits.data)))).toBe(
      true,
    );
  });
});

describe("weights handed to ORT as in-memory external data", () => {
  it("the protobuf carries no weight bytes, and the logits are bit-identical to a model with its weights inline", async () => {
    const graph = buildTransformerGraph(model.config, model.weights).graph;
    const WU = bytesOf(model.weights.get("unembed.W_U")!.data);
    const inline = toOnnx(graph);
    expect(contains(inline.model, WU)).toBe(true);
    const lowered = toOnnx(graph, { externalThreshold: 1024 });
    expect(contains(lowered.model, WU)).toBe(false);
    const batch = makeBatch(model.config, ids, "ids");
    const session = await ort.InferenceSession.create(inline.model);
    const reference = (await session.run(feeds(batch, session.inputNames))).logits!.data as Float32Array;
    await session.release();
    const out = await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(makeSessionCache(model.config.name, { threads: 1 }), (cache) =>
          forward(cache, model, ids),
        ),
      ),
    );
    expect(Buffer.from(bytesOf(out.logits.data)).equals(Buffer.from(bytesOf(reference)))).toBe(true);
  });
});

describe("ORT's memory arena", () => {
  it("gives bit-identical logits with and without it", async () => {
    const logits = (memoryArena: boolean | undefined) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.flatMap(
            makeSessionCache(model.config.name, {
              threads: 1,
              ...(memoryArena === undefined ? {} : { memoryArena }),
            }),
            (cache) => Effect.map(forward(cache, model, ids), (r) => r.logits.data),
          ),
        ),
      );
    const off = await logits(undefined);
    const on = await logits(true);
    expect(off.length).toBeGreaterThan(0);
    expect(Buffer.from(bytesOf(on)).equals(Buffer.from(bytesOf(off)))).toBe(true);
  });
});
