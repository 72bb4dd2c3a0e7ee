import type { GraphBuilder, Node, Value } from "../graph/index.ts";
import { ShapeMismatch } from "../graph/index.ts";

/**
 * What a VJP rule sees: the forward node, its input and output values, the adjoint of its
 * (single) output, and which inputs need a gradient. It returns one adjoint per input
 * (null where none is needed or the input is not differentiable).
 */
export interface VjpArgs {
  readonly g: GraphBuilder;
  readonly node: Node;
  readonly inputs: readonly Value[];
  readonly output: Value;
  /** ∂loss/∂output, same shape as the output. */
  readonly gOut: Value;
  readonly needs: readonly boolean[];
  /** Values of int64 initializers (axes, shapes, slice bounds), by name. */
  readonly consts: ConstReader;
}

export type VjpRule = (a: VjpArgs) => (Value | null)[];

/** A graph asks for the gradient through an op patchbay has no rule for. */
export class NoGradientRule extends Error {
  constructor(op: string, value: string) {
    super(`autodiff: no VJP rule for ${op} (producing ${value})`);
  }
}

/**
 * Sum a gradient of the broadcast output shape back to an operand's shape. Broadcasting is
 * decided statically from the IR shapes: extra leading axes are summed away; axes where the
 * operand has 1 and the output does not are summed with keepdims.
 */
export const unbroadcast = (g: GraphBuilder, grad: Value, target: Value): Value => {
  const gs = grad.shape;
  const ts = target.shape;
  let out = grad;
  const lead = gs.length - ts.length;
  if (lead < 0) throw new ShapeMismatch(`unbroadcast: [${gs}] has fewer axes than [${ts}]`);
  if (lead > 0)
    out = g.reduceSum(
      out,
      Array.from({ length: lead }, (_, i) => i),
      false,
    );
  const axes = ts.flatMap((d, i) => (d === 1 && out.shape[i] !== 1 ? [i] : []));
  if (axes.length > 0) out = g.reduceSum(out, axes, true);
  return out;
};

/** Zeros with the runtime shape of x (x · 0; x is finite wherever it is a gradient target). */
export const zerosLike = (g: GraphBuilder, x: Value): Value => g.mul(x, g.scalar(0));

/** Inverse of a permutation. */
export const invertPerm = (perm: readonly number[]): number[] => {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
};

/** Read an int64 initializer's values (Reshape shapes, Slice bounds, ReduceSum axes). */
export type ConstReader = (name: string) => readonly number[] | null;
