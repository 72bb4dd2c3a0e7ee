import type { Dim } from "./ir.ts";

/** Thrown when the builder is asked for an op whose operand shapes cannot combine. */
export class ShapeMismatch extends Error {}

const fmt = (s: readonly Dim[]) => `[${s.join(", ")}]`;

/** numpy broadcasting over dims that may be symbolic: equal dims, or one of them 1. */
export const broadcast = (a: readonly Dim[], b: readonly Dim[], op: string): Dim[] => {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else throw new ShapeMismatch(`${op}: cannot broadcast ${fmt(a)} with ${fmt(b)}`);
  }
  return out;
};

/** ONNX MatMul: [..., n, k] · [..., k, m] → [..., n, m], batch dims broadcast; 1-D operands not used here. */
export const matmulShape = (a: readonly Dim[], b: readonly Dim[]): Dim[] => {
  if (a.length < 2 || b.length < 2)
    throw new ShapeMismatch(`MatMul: operands must be ≥ 2-D, got ${fmt(a)}, ${fmt(b)}`);
  const k1 = a[a.length - 1]!;
  const k2 = b[b.length - 2]!;
  if (k1 !== k2) throw new ShapeMismatch(`MatMul: inner dims differ: ${fmt(a)} · ${fmt(b)}`);
  const batch = broadcast(a.slice(0, -2), b.slice(0, -2), "MatMul");
  return [...batch, a[a.length - 2]!, b[b.length - 1]!];
};

export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Product of dims when all are numeric, else null. */
export const staticSize = (s: readonly Dim[]): number | null => {
  let n = 1;
  for (const d of s) {
    if (typeof d !== "number") return null;
    n *= d;
  }
  return n;
};
