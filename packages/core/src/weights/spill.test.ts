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
});
