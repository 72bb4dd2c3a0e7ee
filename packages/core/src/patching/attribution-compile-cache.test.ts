import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { edgeLayout } from "../edges/index.ts";
import { makeSessionCache } from "../runtime/index.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { edgeAttributionResample } from "./attribution.ts";

/**
 * The fused attribution graph through the on-disk compile cache (runtime/compile-cache.ts): its
 * contrib FusedMatMul nodes and the corrupted forward inside it survive ORT's save and load, and a
 * loaded session gives the bytes of one ORT optimized itself.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-compiled-attribution-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (d: Float32Array): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

describe("EAP's fused attribution graph through the compile cache", () => {
  it("the fused attribution graph (contrib FusedMatMul, corrupted forward inside) loads with the same EAP gradients", async () => {
    const model = loadModelSync(testdataPath("fixtures/tiny-gpt2"));
    const layout = edgeLayout(model.config);
    const seqs = [
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9],
    ];
    const binding = { positions: [[4], [3]], answers: [[3], [5]], wrong: [[7], [2]] };
    const gradients = (compileCache: string | null) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const cache = yield* makeSessionCache(model.config.name, { threads: 1, compileCache });
            const r = yield* edgeAttributionResample(
              cache,
              model,
              layout,
              "logit-diff",
              seqs,
              [
                [9, 8, 7, 6, 5],
                [4, 3, 2, 1],
              ],
              binding,
            );
            return bytes(r.gradients);
          }),
        ),
      );
    const plain = await gradients(null);
    const stored = await gradients(dir);
    const loaded = await gradients(dir);
    expect(readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n))).toHaveLength(1);
    expect(plain.length).toBeGreaterThan(0);
    expect(stored.equals(plain)).toBe(true);
    expect(loaded.equals(plain)).toBe(true);
  });
});
