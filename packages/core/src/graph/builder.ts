import { GraphDraft } from "./draft.ts";
import type { Dim, DType, Graph, Value } from "./ir.ts";
import { broadcast, matmulShape, normAxis, ShapeMismatch } from "./shapes.ts";

/**
 * Writes a Graph op by op, inferring every output's dtype and shape, so a shape error shows
 * up when the model is built (naming the op), not as an opaque ORT failure at run time. The
 * graph's values, weights and pruning are GraphDraft's (draft.ts); here are the operators.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Graph } from "@patchbay/core";
 *
 * const g = new Graph.GraphBuilder("affine");
 * const x = g.input("x", "float32", ["batch", 4]);
 * const w = g.weight("w", { data: new Float32Array(12).fill(0.5), shape: [4, 3] });
 * const y = g.relu(g.matmul(x, w)); // shapes inferred as it is written: [batch, 3]
 * g.output(g.named(y, "y"));
 * assert.deepEqual(y.shape, ["batch", 3]);
 * assert.throws(() => g.matmul(x, x), Graph.ShapeMismatch); // [batch, 4] · [batch, 4]: caught when built
 * assert.equal(g.build().outputs[0]?.name, "y");
 * ```
 */
export class GraphBuilder extends GraphDraft {
  /** Start from an existing graph (plans and autodiff extend a built model). */
  static from(g: Graph): GraphBuilder {
    const b = new GraphBuilder(g.name);
    b.inputs.push(...g.inputs);
    b.inits.push(...g.initializers);
    b.nodes.push(...g.nodes);
    b.outputs.push(...g.outputs);
    for (const [k, v] of g.values) b.values.set(k, v);
    b.counter = g.nodes.length + g.initializers.length;
    return b;
  }

  // ---- elementwise ---------------------------------------------------------------------------
  private binary(op: string, a: Value, b: Value): Value {
    return this.node(op, [a, b], a.dtype, broadcast(a.shape, b.shape, op));
  }
  add(a: Value, b: Value): Value {
    return this.binary("Add", a, b);
  }
  sub(a: Value, b: Value): Value {
    return this.binary("Sub", a, b);
  }
  mul(a: Value, b: Value): Value {
    return this.binary("Mul", a, b);
  }
  div(a: Value, b: Value): Value {
    return this.binary("Div", a, b);
  }
  private unary(op: string, x: Value): Value {
    return this.node(op, [x], x.dtype, x.shape);
  }
  neg(x: Value): Value {
    return this.unary("Neg", x);
  }
  sqrt(x: Value): Value {
    return this.unary("Sqrt", x);
  }
  exp(x: Value): Value {
    return this.unary("Exp", x);
  }
  log(x: Value): Value {
    return this.unary("Log", x);
  }
  tanh(x: Value): Value {
    return this.unary("Tanh", x);
  }
  erf(x: Value): Value {
    return this.unary("Erf", x);
  }
  sigmoid(x: Value): Value {
    return this.unary("Sigmoid", x);
  }
  relu(x: Value): Value {
    return this.unary("Relu", x);
  }
  cos(x: Value): Value {
    return this.unary("Cos", x);
  }
  sin(x: Value): Value {
    return this.unary("Sin", x);
  }
  cast(x: Value, to: DType): Value {
    const code = to === "float32" ? 1 : to === "int64" ? 7 : 9;
    return this.node("Cast", [x], to, x.shape, { to: { kind: "int", value: code } });
  }
  /** where(cond, a, b): a where cond is true. */
  where(cond: Value, a: Value, b: Value): Value {
    const shape = broadcast(broadcast(cond.shape, a.shape, "Where"), b.shape, "Where");
    return this.node("Where", [cond, a, b], a.dtype, shape);
  }

  // ---- linear algebra and reductions ---------------------------------------------------------
  matmul(a: Value, b: Value): Value {
    return this.node("MatMul", [a, b], "float32", matmulShape(a.shape, b.shape));
  }
  /**
   * Per-example products with the example second: [m, E, k] · [n, E, k] → [E, m, n], row e =
   * A[:, e]·B[:, e]ᵀ. ORT's contrib FusedMatMul (transBatchA, transBatchB, transB), which reads both
   * operands through strides, so neither is transposed in memory. No gradient rule: use it after
   * autodiff, in a graph's own tail.
   */
  matmulPerExample(a: Value, b: Value): Value {
    const [m, E, k] = a.shape;
    const [n, E2, k2] = b.shape;
    if (a.shape.length !== 3 || b.shape.length !== 3 || E !== E2 || k !== k2)
      throw new ShapeMismatch(`FusedMatMul: [m, E, k]·[n, E, k] wanted, got [${a.shape}]·[${b.shape}]`);
    const one = { kind: "int", value: 1 } as const;
    return this.contrib("FusedMatMul", [a, b], "float32", [E!, m!, n!], {
      transB: one,
      transBatchA: one,
      transBatchB: one,
    });
  }
  softmax(x: Value, axis = -1): Value {
    return this.node("Softmax", [x], x.dtype, x.shape, { axis: { kind: "int", value: axis } });
  }
  /** log softmax(x) = x − max − log Σ exp(x − max), computed stably by ORT. */
  logSoftmax(x: Value, axis = -1): Value {
    return this.node("LogSoftmax", [x], x.dtype, x.shape, { axis: { kind: "int", value: axis } });
  }
  private reduce(
    op: "ReduceSum" | "ReduceMean",
    x: Value,
    axes: readonly number[],
    keepdims: boolean,
  ): Value {
    const r = x.shape.length;
    const ax = axes.map((a) => normAxis(a, r));
    const shape = keepdims
      ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !ax.includes(i));
    // opset 17: ReduceSum takes axes as an input, ReduceMean as an attribute.
    if (op === "ReduceSum") {
      return this.node(op, [x, this.int64s(axes, [axes.length], "axes")], x.dtype, shape, {
        keepdims: { kind: "int", value: keepdims ? 1 : 0 },
      });
    }
    return this.node(op, [x], x.dtype, shape, {
      axes: { kind: "ints", value: axes },
      keepdims: { kind: "int", value: keepdims ? 1 : 0 },
    });
  }
  reduceSum(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.reduce("ReduceSum", x, axes, keepdims);
  }
  reduceMean(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.reduce("ReduceMean", x, axes, keepdims);
  }

  /** x > y, elementwise (bool). */
  greater(x: Value, y: Value): Value {
    return this.node("Greater", [x, y], "bool", broadcast(x.shape, y.shape, "Greater"));
  }
  /** Product over axes (opset 17: axes as an attribute). */
  reduceProd(x: Value, axes: readonly number[], keepdims = false): Value {
    const r = x.shape.length;
    const ax = axes.map((a) => normAxis(a, r));
    const shape = keepdims
      ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !ax.includes(i));
    return this.node("ReduceProd", [x], x.dtype, shape, {
      axes: { kind: "ints", value: axes },
      keepdims: { kind: "int", value: keepdims ? 1 : 0 },
    });
  }
  /** The runtime shape of x as an int64 vector. */
  shapeOf(x: Value): Value {
    return this.node("Shape", [x], "int64", [x.shape.length]);
  }
  /** Reshape x to the runtime shape of `like` (same number of elements). */
  reshapeLike(x: Value, like: Value): Value {
    return this.node("Reshape", [x, this.shapeOf(like)], x.dtype, like.shape);
  }
  /** Zero-pad x by static amounts: pads = [begin_0, …, begin_{r−1}, end_0, …, end_{r−1}]. */
  pad(x: Value, pads: readonly number[], shape: readonly Dim[]): Value {
    return this.node("Pad", [x, this.int64s(pads, [pads.length], "pads")], x.dtype, shape);
  }
  /** out = data with updates added at indices (ONNX ScatterND, reduction "add"). */
  scatterAdd(data: Value, indices: Value, updates: Value): Value {
    return this.node("ScatterND", [data, indices, updates], data.dtype, data.shape, {
      reduction: { kind: "string", value: "add" },
    });
  }

  // ---- shape ops -----------------------------------------------------------------------------
  /**
   * Reshape to `shape`, where symbolic dims are carried from the input. Lowered to ONNX's shape
   * tensor with 0 ("copy input dim i") where the symbol sits at the same index, and −1 for at most
   * one symbol that moved or is new (a new name stands for the product ONNX infers, e.g. "pos·d").
   */
  reshape(x: Value, shape: readonly Dim[]): Value {
    let inferred = false;
    const spec = shape.map((d, i) => {
      if (typeof d === "number") return d;
      if (x.shape[i] === d) return 0;
      if (inferred) {
        throw new ShapeMismatch(`Reshape: cannot express [${x.shape.join(", ")}] → [${shape.join(", ")}]`);
      }
      inferred = true;
      return -1;
    });
    return this.node("Reshape", [x, this.int64s(spec, [spec.length], "shape")], x.dtype, shape);
  }
  transpose(x: Value, perm: readonly number[]): Value {
    if (perm.length !== x.shape.length)
      throw new ShapeMismatch(`Transpose: perm ${perm} for rank ${x.shape.length}`);
    return this.node(
      "Transpose",
      [x],
      x.dtype,
      perm.map((p) => x.shape[p]!),
      { perm: { kind: "ints", value: perm } },
    );
  }
  unsqueeze(x: Value, axis: number): Value {
    const r = x.shape.length + 1;
    const a = normAxis(axis, r);
    const shape = [...x.shape];
    shape.splice(a, 0, 1);
    return this.node("Unsqueeze", [x, this.int64s([axis], [1], "axes")], x.dtype, shape);
  }
  /** Broadcast x to `shape` (ONNX Expand); symbolic dims are taken from `like`'s runtime shape. */
  expand(x: Value, shape: readonly Dim[], like: Value): Value {
    // Expand needs a concrete shape tensor: numeric dims literal, symbolic dims from Shape(like).
    const parts: Value[] = [];
    const likeShape = this.node("Shape", [like], "int64", [like.shape.length]);
    shape.forEach((d, i) => {
      if (typeof d === "number") parts.push(this.int64s([d], [1], "dim"));
      else {
        const j = like.shape.indexOf(d);
        if (j < 0)
          throw new ShapeMismatch(`Expand: symbol ${d} (dim ${i}) not in [${like.shape.join(", ")}]`);
        parts.push(this.gather(likeShape, this.int64s([j], [1], "index"), 0));
      }
    });
    const target = this.node("Concat", parts, "int64", [shape.length], { axis: { kind: "int", value: 0 } });
    return this.node("Expand", [x, target], x.dtype, broadcast(x.shape, shape, "Expand"));
  }
  /** ONNX Gather: out.shape = data.shape[:axis] + indices.shape + data.shape[axis+1:]. */
  gather(data: Value, indices: Value, axis = 0): Value {
    const a = normAxis(axis, data.shape.length);
    const shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
    return this.node("Gather", [data, indices], data.dtype, shape, { axis: { kind: "int", value: axis } });
  }
  concat(xs: readonly Value[], axis: number): Value {
    const first = xs[0]!;
    const a = normAxis(axis, first.shape.length);
    let total: Dim = 0;
    for (const x of xs) {
      const d = x.shape[a]!;
      if (typeof d !== "number" || typeof total !== "number")
        throw new ShapeMismatch("Concat: symbolic concat axis");
      total += d;
    }
    const shape = first.shape.map((d, i) => (i === a ? total : d));
    return this.node("Concat", xs, first.dtype, shape, { axis: { kind: "int", value: axis } });
  }
  /** x[..., start:end, ...] along one static axis. */
  slice(x: Value, axis: number, start: number, end: number): Value {
    const a = normAxis(axis, x.shape.length);
    const shape = x.shape.map((d, i) => (i === a ? end - start : d));
    return this.node(
      "Slice",
      [
        x,
        this.int64s([start], [1], "starts"),
        this.int64s([end], [1], "ends"),
        this.int64s([a], [1], "axes"),
      ],
      x.dtype,
      shape,
    );
  }
}
