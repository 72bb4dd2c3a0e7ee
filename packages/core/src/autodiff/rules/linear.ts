import type { GraphBuilder, Value } from "../../graph/index.ts";
import { NoGradientRule, type VjpArgs, type VjpRule, unbroadcast } from "../context.ts";

/** Swap the last two axes: [..., n, k] → [..., k, n]. */
const transposeLast = (g: GraphBuilder, x: Value): Value => {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return g.transpose(x, perm);
};

/** Expand a reduced gradient back over the reduced axes of x. */
const spread = (a: VjpArgs, axes: readonly number[], keepdims: boolean): Value => {
  const { g, inputs, gOut } = a;
  const x = inputs[0]!;
  const r = x.shape.length;
  const norm = [...axes.map((ax) => (ax < 0 ? ax + r : ax))].sort((p, q) => p - q);
  let gk = gOut;
  if (!keepdims) for (const ax of norm) gk = g.unsqueeze(gk, ax);
  return g.expand(gk, x.shape, x);
};

const axesOf = (a: VjpArgs): number[] => {
  const x = a.inputs[0]!;
  if (a.node.op === "ReduceSum") {
    const name = a.node.inputs[1];
    if (name === undefined) return Array.from({ length: x.shape.length }, (_, i) => i);
    const v = a.consts(name);
    if (v === null) throw new NoGradientRule("ReduceSum with runtime axes", a.output.name);
    return [...v];
  }
  const attr = a.node.attrs.axes;
  return attr?.kind === "ints" ? [...attr.value] : Array.from({ length: x.shape.length }, (_, i) => i);
};

const keepdimsOf = (a: VjpArgs): boolean => {
  const k = a.node.attrs.keepdims;
  return k?.kind === "int" ? k.value !== 0 : true;
};

export const linearRules: Record<string, VjpRule> = {
  // Y = A·B (batch axes broadcast):  Ā = Ȳ·Bᵀ,  B̄ = Aᵀ·Ȳ, each summed over its broadcast batch axes
  MatMul: ({ g, inputs: [A, B], gOut, needs }) => [
    needs[0] ? unbroadcast(g, g.matmul(gOut, transposeLast(g, B!)), A!) : null,
    needs[1] ? unbroadcast(g, g.matmul(transposeLast(g, A!), gOut), B!) : null,
  ],
  // y = softmax(x):  x̄ = y ⊙ (ȳ − Σ_axis ȳ ⊙ y)
  Softmax: ({ g, node, output, gOut }) => {
    const ax = node.attrs.axis?.kind === "int" ? node.attrs.axis.value : -1;
    return [g.mul(output, g.sub(gOut, g.reduceSum(g.mul(gOut, output), [ax], true)))];
  },
  // y = log softmax(x):  x̄ = ȳ − softmax(x) ⊙ Σ_axis ȳ,  softmax(x) = eʸ
  LogSoftmax: ({ g, node, output, gOut }) => {
    const ax = node.attrs.axis?.kind === "int" ? node.attrs.axis.value : -1;
    return [g.sub(gOut, g.mul(g.exp(output), g.reduceSum(gOut, [ax], true)))];
  },
  // y = Σ_axes x:  x̄ = ȳ broadcast back over the axes
  ReduceSum: (a) => [spread(a, axesOf(a), keepdimsOf(a)), null],
  // y = (1/N) Σ_axes x:  x̄ = ȳ/N broadcast back, N = the product of the reduced sizes (at run time)
  ReduceMean: (a) => {
    const { g, inputs } = a;
    const x = inputs[0]!;
    const axes = axesOf(a);
    const sizes = axes.map((ax) => x.shape[ax < 0 ? ax + x.shape.length : ax]!);
    let n: Value;
    if (sizes.every((s) => typeof s === "number"))
      n = g.scalar((sizes as number[]).reduce((p, q) => p * q, 1));
    else {
      const picked = g.gather(
        g.shapeOf(x),
        g.int64s(
          axes.map((ax) => (ax < 0 ? ax + x.shape.length : ax)),
          [axes.length],
          "axes",
        ),
        0,
      );
      n = g.cast(g.reduceProd(picked, [0], false), "float32");
    }
    return [g.div(spread(a, axes, keepdimsOf(a)), n)];
  },
};
