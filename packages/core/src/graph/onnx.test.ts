import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "./builder.ts";
import { toOnnx } from "./onnx.ts";

describe("IR → ONNX lowering runs in onnxruntime", () => {
  it("matmul + bias + softmax + reshape with symbolic dims", async () => {
    const g = new GraphBuilder("t");
    const x = g.input("x", "float32", ["batch", 3]);
    const w = g.weight("w", { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2] });
    const y = g.add(g.matmul(x, w), g.scalar(1));
    const s = g.softmax(y, -1);
    const r = g.reshape(s, ["batch", 2, 1]);
    g.output(g.named(r, "out"));
    const { model } = toOnnx(g.build());
    const session = await ort.InferenceSession.create(model);
    const res = await session.run({
      x: new ort.Tensor("float32", Float32Array.from([1, 0, 0, 0, 1, -1]), [2, 3]),
    });
    const out = res.out!;
    expect(out.dims).toEqual([2, 2, 1]);
    // row 0: x·w + 1 = [2, 3]; row 1: [3−5, 4−6] + 1 = [−1, −1]
    const e = Math.exp(1);
    const d = out.data as Float32Array;
    expect(d[0]).toBeCloseTo(1 / (1 + e), 6);
    expect(d[1]).toBeCloseTo(e / (1 + e), 6);
    expect(d[2]).toBeCloseTo(0.5, 6);
    await session.release();
  });
});
