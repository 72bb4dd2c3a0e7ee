import fc from "fast-check";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { GraphBuilder, toOnnx, type Value } from "../graph/index.ts";
import { mulberry32 } from "../model/index.ts";
import { gradients } from "./index.ts";

/**
 * Every rule against central finite differences, run in ORT. The forward is float32, so the FD
 * step ε = 1e-2 balances truncation error O(ε²·f‴) ≈ 1e-4 against rounding error
 * ≈ 6e-8·|L|/ε ≈ 1e-5·|L|; the tolerance |ad − fd| ≤ 2e-3 + 2e-2·|fd| covers both with margin
 * on O(1) values, while a wrong rule (a missing factor, a sign, a transposed operand) is off by O(1).
 */
const EPS = 1e-2;

interface Case {
  /** Build the forward from float32 inputs of the given static shapes; return the output. */
  readonly build: (g: GraphBuilder, xs: Value[]) => Value;
  readonly shapes: number[][];
  /** Keep inputs positive (log, sqrt, div). */
  readonly positive?: boolean;
  /** Keep inputs at least 0.1 away from 0 (kinks of relu and where sit at 0). */
  readonly awayFromZero?: boolean;
}

const check = async (c: Case, seed = 1) => {
  const rand = mulberry32(seed);
  const g = new GraphBuilder("case");
  const xs = c.shapes.map((s, i) => g.input(`x${i}`, "float32", s));
  const y = c.build(g, xs);
  // L = Σ y ⊙ r with a fixed random r, so every output element matters with its own weight.
  const ySize = (y.shape as number[]).reduce((a, b) => a * b, 1);
  const r = g.weight("r", {
    data: Float32Array.from({ length: ySize }, () => rand() * 2 - 1),
    shape: y.shape as number[],
  });
  const loss = g.named(
    g.reduceSum(
      g.mul(y, r),
      y.shape.map((_, i) => i),
      false,
    ),
    "loss",
  );
  g.output(loss);
  const names = xs.map((x) => x.name);
  const { graph, grads } = gradients(g.build(), "loss", names);
  const session = await ort.InferenceSession.create(toOnnx(graph).model);
  const values = c.shapes.map((s) =>
    Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => {
      if (c.positive) return 0.5 + rand();
      if (c.awayFromZero) return (rand() < 0.5 ? -1 : 1) * (0.1 + rand());
      return rand() * 2 - 1;
    }),
  );
  const feeds = (vs: Float32Array[]) =>
    Object.fromEntries(vs.map((v, i) => [`x${i}`, new ort.Tensor("float32", v, c.shapes[i]!)]));
  const out = await session.run(feeds(values));
  const lossAt = async (vs: Float32Array[]) =>
    ((await session.run(feeds(vs))).loss!.data as Float32Array)[0]!;
  for (let i = 0; i < values.length; i++) {
    const ad = out[grads.get(`x${i}`)!]!.data as Float32Array;
    expect(ad.length).toBe(values[i]!.length);
    for (let j = 0; j < values[i]!.length; j++) {
      const plus = values.map((v) => v.slice());
      const minus = values.map((v) => v.slice());
      plus[i]![j]! += EPS;
      minus[i]![j]! -= EPS;
      const fd = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * EPS);
      expect(Math.abs(ad[j]! - fd), `∂L/∂x${i}[${j}]: autodiff ${ad[j]} vs fd ${fd}`).toBeLessThanOrEqual(
        2e-3 + 2e-2 * Math.abs(fd),
      );
    }
  }
  await session.release();
};

describe("VJP rules against central finite differences", () => {
  const cases: Record<string, Case> = {
    "Add with a broadcast bias": { build: (g, [a, b]) => g.add(a!, b!), shapes: [[2, 3], [3]] },
    "Sub with a broadcast column": {
      build: (g, [a, b]) => g.sub(a!, b!),
      shapes: [
        [2, 3],
        [2, 1],
      ],
    },
    "Mul by a scalar input": { build: (g, [a, b]) => g.mul(a!, b!), shapes: [[2, 3], []] },
    Div: {
      build: (g, [a, b]) => g.div(a!, b!),
      shapes: [
        [2, 3],
        [2, 3],
      ],
      positive: true,
    },
    Neg: { build: (g, [a]) => g.neg(a!), shapes: [[4]] },
    Sqrt: { build: (g, [a]) => g.sqrt(a!), shapes: [[4]], positive: true },
    Exp: { build: (g, [a]) => g.exp(a!), shapes: [[4]] },
    Log: { build: (g, [a]) => g.log(a!), shapes: [[4]], positive: true },
    Tanh: { build: (g, [a]) => g.tanh(a!), shapes: [[4]] },
    Erf: { build: (g, [a]) => g.erf(a!), shapes: [[4]] },
    Sigmoid: { build: (g, [a]) => g.sigmoid(a!), shapes: [[4]] },
    Relu: { build: (g, [a]) => g.relu(a!), shapes: [[8]], awayFromZero: true },
    Cos: { build: (g, [a]) => g.cos(a!), shapes: [[4]] },
    Sin: { build: (g, [a]) => g.sin(a!), shapes: [[4]] },
    Where: {
      build: (g, [a, b]) => g.where(g.greater(a!, g.scalar(0)), g.mul(a!, b!), g.mul(b!, g.scalar(0.5))),
      shapes: [[6], [6]],
      awayFromZero: true,
    },
    "Where with a −∞ branch, then softmax (the causal mask)": {
      build: (g, [a, b]) =>
        g.softmax(g.where(g.greater(b!, g.scalar(0)), a!, g.scalar(Number.NEGATIVE_INFINITY)), -1),
      shapes: [
        [2, 4],
        [2, 4],
      ],
      awayFromZero: true,
    },
    "MatMul 2-D": {
      build: (g, [a, b]) => g.matmul(a!, b!),
      shapes: [
        [2, 3],
        [3, 4],
      ],
    },
    "MatMul [b,p,d]·[d,e] (weight broadcast over batch)": {
      build: (g, [a, b]) => g.matmul(a!, b!),
      shapes: [
        [2, 3, 4],
        [4, 2],
      ],
    },
    "MatMul [b,H,p,d]·[H,d,e] (per-head weights)": {
      build: (g, [a, b]) => g.matmul(a!, b!),
      shapes: [
        [2, 2, 3, 2],
        [2, 2, 3],
      ],
    },
    "MatMul with a size-1 broadcast axis (GQA)": {
      build: (g, [a, b]) => g.matmul(a!, b!),
      shapes: [
        [1, 2, 2, 3, 2],
        [1, 2, 1, 2, 3],
      ],
    },
    Softmax: { build: (g, [a]) => g.softmax(a!, -1), shapes: [[2, 4]] },
    LogSoftmax: { build: (g, [a]) => g.logSoftmax(a!, -1), shapes: [[2, 4]] },
    "ReduceSum keepdims": { build: (g, [a]) => g.mul(g.reduceSum(a!, [1], true), a!), shapes: [[2, 3]] },
    "ReduceMean over the last axis": {
      build: (g, [a]) => g.mul(g.reduceMean(a!, [-1], true), a!),
      shapes: [[2, 3]],
    },
    "ReduceMean without keepdims": { build: (g, [a]) => g.reduceMean(a!, [0], false), shapes: [[3, 2]] },
    Reshape: { build: (g, [a]) => g.mul(g.reshape(a!, [3, 2]), g.scalar(2)), shapes: [[2, 3]] },
    Transpose: {
      build: (g, [a, b]) => g.mul(g.transpose(a!, [2, 0, 1]), b!),
      shapes: [
        [2, 3, 4],
        [4, 2, 3],
      ],
    },
    Unsqueeze: {
      build: (g, [a, b]) => g.mul(g.unsqueeze(a!, 1), b!),
      shapes: [
        [2, 3],
        [2, 2, 3],
      ],
    },
    Expand: {
      build: (g, [a, b]) => g.mul(g.expand(g.unsqueeze(a!, 1), [2, 4, 3], b!), b!),
      shapes: [
        [2, 3],
        [2, 4, 3],
      ],
    },
    Concat: {
      build: (g, [a, b]) => g.mul(g.concat([a!, b!], -1), g.concat([b!, a!], -1)),
      shapes: [
        [2, 3],
        [2, 3],
      ],
    },
    Slice: { build: (g, [a]) => g.mul(g.slice(a!, 1, 1, 3), g.slice(a!, 1, 0, 2)), shapes: [[2, 4]] },
    "fan-out (a value read three times)": {
      build: (g, [a]) => g.mul(g.mul(a!, a!), g.tanh(a!)),
      shapes: [[3]],
    },
  };
  for (const [name, c] of Object.entries(cases)) it(name, () => check(c));

  it("Gather (embedding lookup) scatters gradients into the rows read, twice for a repeated id", async () => {
    const g = new GraphBuilder("gather");
    const E = g.input("E", "float32", [5, 3]);
    const ids = g.int64s([1, 3, 1], [3], "ids");
    const y = g.gather(E, ids, 0); //                                    [3, 3]
    const r = g.weight("r", { data: Float32Array.from({ length: 9 }, (_, i) => i + 1), shape: [3, 3] });
    g.output(g.named(g.reduceSum(g.mul(y, r), [0, 1], false), "loss"));
    const { graph, grads } = gradients(g.build(), "loss", ["E"]);
    const s = await ort.InferenceSession.create(toOnnx(graph).model);
    const out = await s.run({ E: new ort.Tensor("float32", new Float32Array(15).fill(0.5), [5, 3]) });
    // Row 1 was read at slots 0 and 2 (r rows [1,2,3] + [7,8,9]); row 3 at slot 1; others unread.
    expect(Array.from(out[grads.get("E")!]!.data as Float32Array)).toEqual([
      0, 0, 0, 8, 10, 12, 0, 0, 0, 4, 5, 6, 0, 0, 0,
    ]);
  });

  it("an unused wrt gets zeros; an intermediate value is a leaf", async () => {
    const g = new GraphBuilder("leaf");
    const x = g.input("x", "float32", [3]);
    const u = g.input("u", "float32", [2]);
    const h = g.named(g.mul(x, x), "h"); //   h = x²
    g.output(g.named(g.reduceSum(g.mul(h, g.scalar(3)), [0], false), "loss")); // L = 3 Σ h
    g.output(g.named(g.neg(u), "side")); //  u is live, but L does not depend on it
    const { graph, grads } = gradients(g.build(), "loss", ["u", "h", "x"]);
    const s = await ort.InferenceSession.create(toOnnx(graph).model);
    const out = await s.run({
      x: new ort.Tensor("float32", Float32Array.from([1, 2, -1]), [3]),
      u: new ort.Tensor("float32", new Float32Array(2), [2]),
    });
    expect(Array.from(out[grads.get("u")!]!.data as Float32Array)).toEqual([0, 0]);
    expect(Array.from(out[grads.get("h")!]!.data as Float32Array)).toEqual([3, 3, 3]); // ∂L/∂h, h as a leaf
    expect(Array.from(out[grads.get("x")!]!.data as Float32Array)).toEqual([6, 12, -6]); // 6x
  });

  it("random compositions of elementwise ops on random shapes (fast-check)", async () => {
    const unary = ["tanh", "sigmoid", "sin", "cos", "exp", "neg", "erf"] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...unary), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 1000 }),
        async (ops, shape, seed) => {
          await check(
            {
              build: (g, [a, b]) => {
                let y = a!;
                for (const op of ops) y = g.mul(g[op](y), b!);
                return y;
              },
              shapes: [shape, [shape[shape.length - 1]!]],
            },
            seed,
          );
        },
      ),
      { numRuns: 15, seed: 5 },
    );
  });
});
