import { type Graph, GraphBuilder, type Value } from "../graph/index.ts";
import { type ConstReader, NoGradientRule, type VjpRule } from "./context.ts";
import { elementwiseRules } from "./rules/elementwise.ts";
import { linearRules } from "./rules/linear.ts";
import { shapeRules } from "./rules/shape.ts";

/**
 * Reverse-mode autodiff over the IR: `gradients(graph, loss, wrt)` appends the backward pass of a
 * scalar float32 `loss` to the same graph, so one session computes forward and backward and no
 * activation is recomputed. Each `wrt` value gets an output `grad(<name>)` of its own shape.
 *
 * `wrt` may name graph inputs (intervention parameters, patch values), initializers (weights) or
 * intermediate values (sites). For an intermediate value the gradient is ∂loss/∂value with
 * everything upstream of it held fixed — the value treated as a leaf — which is what attribution
 * methods (EAP, gradient × activation) need.
 *
 * Backward sweep: nodes in reverse topological order; a node is visited when one of its outputs has
 * an adjoint and one of its inputs lies downstream of a wrt value (so nothing upstream of the
 * targets is differentiated). Adjoints of values read several times are summed. Only float32
 * values carry gradients; int64/bool inputs (ids, masks, shapes) get none. A wrt value the loss does
 * not depend on gets zeros.
 *
 * Rules: Add Sub Mul Div Neg Sqrt Exp Log Tanh Erf Sigmoid Relu Cos Sin Identity Where Cast MatMul
 * Softmax LogSoftmax ReduceSum ReduceMean Reshape Unsqueeze Squeeze Transpose Expand Concat Slice
 * Gather — every op the transformer builder, the engine and the metrics emit.
 */
const rules: Record<string, VjpRule> = { ...elementwiseRules, ...linearRules, ...shapeRules };

/**
 * The output name of the gradient of a value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gradName } from "@patchbay/core/autodiff";
 *
 * assert.equal(gradName("blocks.0.attn.W_Q"), "grad(blocks.0.attn.W_Q)");
 * ```
 */
export const gradName = (name: string): string => `grad(${name})`;

export interface GradientGraph {
  readonly graph: Graph;
  /** wrt value name → output name of its gradient. */
  readonly grads: ReadonlyMap<string, string>;
}

/**
 * Append the backward pass of `loss` to a graph: one output `gradName(v)` per `wrt` value,\nthe same graph and session as the forward.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Autodiff, Graph } from "@patchbay/core";
 *
 * const g = new Graph.GraphBuilder("square-sum");
 * const x = g.input("x", "float32", [3]);
 * g.output(g.named(g.reduceSum(g.mul(x, x), [0], false), "loss")); // loss = Σ x²
 * const { graph, grads } = Autodiff.gradients(g.build(), "loss", ["x"]);
 * assert.equal(grads.get("x"), "grad(x)"); // = 2x, when run
 * assert.ok(graph.outputs.some((o) => o.name === "grad(x)"));
 * ```
 */
export const gradients = (forward: Graph, loss: string, wrt: readonly string[]): GradientGraph => {
  const g = GraphBuilder.from(forward);
  const lossValue = g.get(loss);
  const consts: ConstReader = (name) => {
    const init = forward.initializers.find((i) => i.value.name === name);
    return init?.data.dtype === "int64" ? Array.from(init.data.data, Number) : null;
  };

  // Values downstream of a wrt target (float32 only), in forward order.
  const downstream = new Set(wrt);
  for (const n of forward.nodes) {
    if (n.inputs.some((i) => downstream.has(i)))
      for (const o of n.outputs) if (g.get(o).dtype === "float32") downstream.add(o);
  }

  // ∂loss/∂loss = 1 (loss is a scalar, or a tensor of ones-sized dims).
  const seed = lossValue.shape.length === 0 ? g.scalar(1) : g.expand(g.scalar(1), lossValue.shape, lossValue);
  const adjoints = new Map<string, Value[]>([[loss, [seed]]]);
  const total = (name: string): Value | null => {
    const parts = adjoints.get(name);
    if (parts === undefined || parts.length === 0) return null;
    const sum = parts.reduce((a, b) => g.add(a, b));
    adjoints.set(name, [sum]);
    return sum;
  };

  for (let i = forward.nodes.length - 1; i >= 0; i--) {
    const node = forward.nodes[i]!;
    const out = node.outputs[0]!;
    if (node.outputs.length !== 1 || !adjoints.has(out)) continue;
    const needs = node.inputs.map((x) => downstream.has(x) && g.get(x).dtype === "float32");
    if (!needs.some(Boolean)) continue;
    const rule = rules[node.op];
    if (rule === undefined) throw new NoGradientRule(node.op, out);
    const gOut = total(out)!;
    const inputs = node.inputs.map((x) => g.get(x));
    const grads = rule({ g, node, inputs, output: g.get(out), gOut, needs, consts });
    grads.forEach((gi, k) => {
      const x = node.inputs[k]!;
      if (gi === null || !needs[k]) return;
      adjoints.set(x, [...(adjoints.get(x) ?? []), gi]);
    });
  }

  const names = new Map<string, string>();
  for (const w of wrt) {
    const v = g.get(w);
    const grad = total(w) ?? g.mul(v, g.scalar(0));
    const name = gradName(w);
    g.output(g.named(grad, name));
    names.set(w, name);
  }
  return { graph: g.build(), grads: names };
};
