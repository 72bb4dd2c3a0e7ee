/**
 * Element-wise comparison, for tests and for the CLI demo's check against the reference:
 * |a − b| ≤ atol + rtol·|b|, with infinities required to match exactly (masked attention scores are
 * −∞ on both sides). Returns the worst offender, so a failing assertion says where and by how much.
 * Core-only: internal/ is in no package export.
 */
export interface Mismatch {
  readonly index: number;
  readonly actual: number;
  readonly expected: number;
  readonly excess: number;
}

export const worstMismatch = (
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol = 0,
): Mismatch | null => {
  if (actual.length !== expected.length) {
    return { index: -1, actual: actual.length, expected: expected.length, excess: Number.POSITIVE_INFINITY };
  }
  let worst: Mismatch | null = null;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (Object.is(a, e)) continue;
      return { index: i, actual: a, expected: e, excess: Number.POSITIVE_INFINITY };
    }
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess > 0 && (worst === null || excess > worst.excess))
      worst = { index: i, actual: a, expected: e, excess };
  }
  return worst;
};

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
