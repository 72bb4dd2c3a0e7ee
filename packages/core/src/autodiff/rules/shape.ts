import { ShapeMismatch } from "../../graph/index.ts";
import { invertPerm, NoGradientRule, type VjpRule, unbroadcast, zerosLike } from "../context.ts";

/** Rules for ops that move values without arithmetic: the adjoint moves back the same way. */
export const shapeRules: Record<string, VjpRule> = {
  // Reshape / Unsqueeze / Squeeze: x̄ = ȳ reshaped to x's runtime shape
  Reshape: ({ g, inputs: [x], gOut }) => [g.reshapeLike(gOut, x!), null],
  Unsqueeze: ({ g, inputs: [x], gOut }) => [g.reshapeLike(gOut, x!), null],
  Squeeze: ({ g, inputs: [x], gOut }) => [g.reshapeLike(gOut, x!), null],
  // y = xᵖ (axes permuted by p):  x̄ = ȳ permuted by p⁻¹
  Transpose: ({ g, node, gOut }) => {
    const perm = node.attrs.perm;
    if (perm?.kind !== "ints") throw new ShapeMismatch("Transpose without perm");
    return [g.transpose(gOut, invertPerm(perm.value))];
  },
  // y = x broadcast to a shape:  x̄ = ȳ summed over the broadcast axes
  Expand: ({ g, inputs: [x], gOut }) => [unbroadcast(g, gOut, x!), null],
  // y = concat(x_1 … x_n) along an axis:  x̄_i = the slice of ȳ where x_i landed
  Concat: ({ g, node, inputs, gOut, needs }) => {
    const axis = node.attrs.axis?.kind === "int" ? node.attrs.axis.value : 0;
    const ax = axis < 0 ? axis + gOut.shape.length : axis;
    let off = 0;
    return inputs.map((x, i) => {
      const size = x.shape[ax];
      if (typeof size !== "number") throw new ShapeMismatch("Concat gradient needs static sizes");
      const part = needs[i] ? g.slice(gOut, ax, off, off + size) : null;
      off += size;
      return part;
    });
  },
  // y = x[start:end] along one axis:  x̄ = ȳ zero-padded back to x's extent
  Slice: ({ g, node, inputs: [x], gOut, consts }) => {
    const starts = consts(node.inputs[1] ?? "");
    const ends = consts(node.inputs[2] ?? "");
    const axes = consts(node.inputs[3] ?? "");
    if (starts === null || ends === null || axes === null || starts.length !== 1) {
      throw new NoGradientRule("Slice with runtime or multi-axis bounds", node.outputs[0]!);
    }
    const r = x!.shape.length;
    const ax = axes[0]! < 0 ? axes[0]! + r : axes[0]!;
    const dim = x!.shape[ax];
    if (typeof dim !== "number") throw new NoGradientRule("Slice along a symbolic axis", node.outputs[0]!);
    const pads = new Array<number>(2 * r).fill(0);
    pads[ax] = starts[0]!;
    pads[r + ax] = dim - Math.min(ends[0]!, dim);
    return [g.pad(gOut, pads, x!.shape), null, null, null];
  },
  // y = data[indices] along axis 0:  datā = scatter-add of ȳ at the indices (embedding gradient)
  Gather: ({ g, node, inputs: [data, indices], gOut, needs }) => {
    const axis = node.attrs.axis?.kind === "int" ? node.attrs.axis.value : 0;
    if (!needs[0]) return [null, null];
    if (axis !== 0) throw new NoGradientRule("Gather along an axis other than 0", node.outputs[0]!);
    return [g.scatterAdd(zerosLike(g, data!), g.unsqueeze(indices!, -1), gOut), null];
  },
  // float → float casts pass the gradient; casts from integers have none
  Cast: ({ inputs: [x], gOut }) => [x!.dtype === "float32" ? gOut : null],
};
