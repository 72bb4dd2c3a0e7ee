/**
 * LU factorisation with partial pivoting, P A = L U, and the solves it gives: A X = B and
 * Aᵀ X = B from one factorisation. The Cayley map needs both ((I + A)⁻¹ and (I − A)⁻¹ =
 * (I + A)⁻ᵀ when A is skew), and the Padé step of expm needs one.
 */

export interface Lu {
  /** n: A is [n, n]. */
  readonly n: number;
  /** L (unit lower, below the diagonal) and U (on and above it), packed [n, n]. */
  readonly lu: Float64Array;
  /** perm [n]: row i of P A is row perm[i] of A. */
  readonly perm: Int32Array;
  /** det P = ±1 (the parity of the row swaps). */
  readonly sign: number;
}

/** A matrix LU met a zero pivot: it is singular to working precision. */
export class SingularMatrix extends Error {
  constructor(n: number) {
    super(`das/rotation: a ${n}×${n} matrix is singular`);
  }
}

/** P A = L U for A [n, n] (Doolittle, partial pivoting: |l_ij| ≤ 1 keeps growth small). */
export const luFactor = (a: Float64Array, n: number): Lu => {
  const lu = a.slice();
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let sign = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    let best = Math.abs(lu[c * n + c]!);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(lu[r * n + c]!);
      if (v > best) {
        best = v;
        p = r;
      }
    }
    if (best === 0) throw new SingularMatrix(n);
    if (p !== c) {
      for (let j = 0; j < n; j++) {
        const t = lu[c * n + j]!;
        lu[c * n + j] = lu[p * n + j]!;
        lu[p * n + j] = t;
      }
      const t = perm[c]!;
      perm[c] = perm[p]!;
      perm[p] = t;
      sign = -sign;
    }
    const pivot = lu[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const l = lu[r * n + c]! / pivot;
      lu[r * n + c] = l;
      if (l === 0) continue;
      for (let j = c + 1; j < n; j++) lu[r * n + j]! -= l * lu[c * n + j]!;
    }
  }
  return { n, lu, perm, sign };
};

/** X [n, m] with A X = B, B [n, m]: forward-substitute L Y = P B, back-substitute U X = Y. */
export const luSolve = (f: Lu, b: Float64Array, m: number): Float64Array => {
  const { n, lu, perm } = f;
  const x = new Float64Array(n * m);
  for (let i = 0; i < n; i++) x.set(b.subarray(perm[i]! * m, perm[i]! * m + m), i * m);
  for (let i = 0; i < n; i++)
    for (let l = 0; l < i; l++) {
      const c = lu[i * n + l]!;
      if (c !== 0) for (let j = 0; j < m; j++) x[i * m + j]! -= c * x[l * m + j]!;
    }
  for (let i = n - 1; i >= 0; i--) {
    for (let l = i + 1; l < n; l++) {
      const c = lu[i * n + l]!;
      if (c !== 0) for (let j = 0; j < m; j++) x[i * m + j]! -= c * x[l * m + j]!;
    }
    const d = lu[i * n + i]!;
    for (let j = 0; j < m; j++) x[i * m + j]! /= d;
  }
  return x;
};

/**
 * X [n, m] with Aᵀ X = B, B [n, m]. Aᵀ = Uᵀ Lᵀ P, so solve Uᵀ Z = B (forward), Lᵀ Y = Z
 * (backward), then X = Pᵀ Y (row i of Y goes to row perm[i]).
 */
export const luSolveTransposed = (f: Lu, b: Float64Array, m: number): Float64Array => {
  const { n, lu, perm } = f;
  const y = b.slice();
  for (let i = 0; i < n; i++) {
    for (let l = 0; l < i; l++) {
      const c = lu[l * n + i]!;
      if (c !== 0) for (let j = 0; j < m; j++) y[i * m + j]! -= c * y[l * m + j]!;
    }
    const d = lu[i * n + i]!;
    for (let j = 0; j < m; j++) y[i * m + j]! /= d;
  }
  for (let i = n - 1; i >= 0; i--)
    for (let l = i + 1; l < n; l++) {
      const c = lu[l * n + i]!;
      if (c !== 0) for (let j = 0; j < m; j++) y[i * m + j]! -= c * y[l * m + j]!;
    }
  const x = new Float64Array(n * m);
  for (let i = 0; i < n; i++) x.set(y.subarray(i * m, i * m + m), perm[i]! * m);
  return x;
};

/** det A = det Pᵀ · Π u_ii. */
export const determinant = (a: Float64Array, n: number): number => {
  let f: Lu;
  try {
    f = luFactor(a, n);
  } catch (e) {
    if (e instanceof SingularMatrix) return 0;
    throw e;
  }
  let d = f.sign;
  for (let i = 0; i < n; i++) d *= f.lu[i * n + i]!;
  return d;
};
