import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { fileBacking } from "../tensor/file-backed.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync, spill } from "./index.ts";

/**
 * Spilled weights (issue 16 §4) read back bit for bit; lowering and sessions over them are tested in
 * runtime/session.test.ts.
 */
const model = loadModelSync(testdataPath("fixtures/tiny-llama"));
const bytesOf = (d: Float32Array) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

describe("Weights.spill", () => {
  it("reads back every tensor bit for bit, from a file under the OS temp folder removed with the scope", async () => {
    let file = "";
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const spilled = yield* spill(model.weights);
          expect([...spilled.keys()]).toEqual([...model.weights.keys()]);
          for (const [name, t] of model.weights) {
            const s = spilled.get(name)!;
            expect(s.shape).toEqual(t.shape);
            expect(Buffer.from(bytesOf(s.data)).equals(Buffer.from(bytesOf(t.data)))).toBe(true);
          }
          file = fileBacking(spilled.get("unembed.W_U")!)!.file;
          expect(dirname(dirname(file))).toBe(tmpdir());
          expect(existsSync(file)).toBe(true);
        }),
      ),
    );
    expect(file).not.toBe("");
    expect(existsSync(dirname(file))).toBe(false);
  });

  it("keeps no array: each tensor's data is read from the file on access", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const spilled = yield* spill(model.weights);
          for (const t of spilled.values()) {
            const d = Object.getOwnPropertyDescriptor(t, "data")!;
            expect(d.get).toBeTypeOf("function");
            expect(d.value).toBeUndefined();
          }
          // an array handed out is itself known as the file's bytes (lowering links it, never copies it)
          const W = spilled.get("unembed.W_U")!;
          expect(fileBacking({ data: W.data, shape: [W.data.length] })).toEqual(fileBacking(W));
        }),
      ),
    );
  });

  it("consume empties the source's arrays as it writes them, tied names included, and reads back the same", async () => {
    const a = Float32Array.from({ length: 300_000 }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
    const view = new Float32Array(new Float32Array(20).fill(3).buffer, 8, 4); // part of a buffer: kept
    const copies = [a.slice(), b.slice(), a.slice(), view.slice()];
    const src = new Map([
      ["a", { data: a, shape: [300_000] }],
      ["b", { data: b, shape: [10, 100] }],
      ["tied", { data: a, shape: [300_000] }],
      ["view", { data: view, shape: [4] }],
    ]);
    const back = await Effect.runPromise(
      Effect.scoped(
        Effect.map(spill(src, { consume: true }), (s) => [...s.values()].map((t) => t.data.slice())),
      ),
    );
    expect([a.length, b.length, view.length]).toEqual([0, 0, 4]);
    expect(back).toEqual(copies);
  });
});
