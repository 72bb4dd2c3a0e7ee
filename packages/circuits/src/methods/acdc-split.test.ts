import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, InputError } from "@patchbay/core/errors";
import { makeSessionCache } from "@patchbay/core/runtime";
import { inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { acdc } from "./acdc.ts";
import { batchParts, downstreamRows, rowsInParts } from "./acdc-rows.ts";
import { maskFromEdges } from "./masks.ts";
import { prepareEdges } from "./setup.ts";

/**
 * ACDC's `split`: a batch's masks in contiguous parts, each evaluated in its own runs and joined in
 * order. The parts cover the batch exactly; joined, they give each mask the metric its own part
 * gave it (so a part evaluated elsewhere by the same function gives the same bits); ACDC split
 * in 2 makes the decisions of the unsplit run, with Δs equal to float32 rounding; the split is
 * part of the checkpoint's identity, and a split that is not a whole number ≥ 1 is an InputError.
 */
describe("ACDC split into parts", () => {
  it("property: batchParts covers [0, M) in order, none empty, sizes within one of each other", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 40 }), (M, parts) => {
        const p = batchParts(M, parts);
        expect(p).toHaveLength(Math.min(M, parts));
        expect(p[0]![0]).toBe(0);
        expect(p.at(-1)![1]).toBe(M);
        for (let i = 1; i < p.length; i++) expect(p[i]![0]).toBe(p[i - 1]![1]);
        const sizes = p.map(([a, b]) => b - a);
        expect(Math.min(...sizes)).toBeGreaterThan(0);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it("joined parts are each part's bits; split 2 decides as split 1; the split is in the checkpoint's identity", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acdc-split-"));
    const out = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache("acdc-split", { threads: 1 });
          const setup = yield* prepareEdges(cache, inductionModel(), {
            ...inductionTask(0, 6),
            ablation: "resample",
            metric: "logit-diff",
          });
          const rows = yield* downstreamRows(setup);
          const E = setup.layout.edges.length;
          const masks = Array.from({ length: 5 }, (_, i) => {
            const g = new Uint8Array(E).fill(1);
            for (let e = i; e < E; e += 7)
              if (setup.layout.destinations[setup.layout.edges[e]!.destination]!.kind === "logits") g[e] = 0;
            return maskFromEdges(setup, g);
          });
          const L = setup.model.config.nLayers;
          const joined = yield* rowsInParts(rows, 2, setup.N).evaluate(L, masks);
          const first = yield* rows.evaluate(L, masks.slice(0, 3));
          const second = yield* rows.evaluate(L, masks.slice(3));
          const one = yield* acdc(setup, { tau: 0.05, speculate: 8 });
          const two = yield* acdc(setup, { tau: 0.05, speculate: 8, split: 2 });
          const file = join(dir, "ckpt.json");
          yield* acdc(setup, { tau: 0.05, speculate: 8, checkpoint: file });
          const other = yield* Effect.flip(
            acdc(setup, { tau: 0.05, speculate: 8, split: 2, checkpoint: file }),
          );
          const bad = yield* Effect.flip(acdc(setup, { tau: 0.05, split: 0 }));
          return { joined, first, second, one, two, other, bad };
        }),
      ),
    );
    const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(out.joined.perExample.length).toBe(5 * 6);
    expect(bits(out.joined.perExample.subarray(0, 18)).equals(bits(out.first.perExample))).toBe(true);
    expect(bits(out.joined.perExample.subarray(18)).equals(bits(out.second.perExample))).toBe(true);
    expect(out.joined.runs).toBe(out.first.runs + out.second.runs);
    expect(Array.from(out.two.inGraph)).toEqual(Array.from(out.one.inGraph));
    expect(Array.from(out.two.tested)).toEqual(Array.from(out.one.tested));
    expect(out.two.forwardPasses).toBe(out.one.forwardPasses);
    expect(out.two.runs).toBeGreaterThan(out.one.runs); // more, smaller runs
    for (const [e, d] of out.one.deltas.entries())
      expect(Math.abs(out.two.deltas[e]! - d), `edge ${e}`).toBeLessThan(1e-5);
    expect(out.other).toBeInstanceOf(ConfigError);
    expect((out.other as ConfigError).field).toBe("hashes.options");
    expect(out.bad).toBeInstanceOf(InputError);
    expect((out.bad as InputError).field).toBe("split");
  }, 60_000);
});
