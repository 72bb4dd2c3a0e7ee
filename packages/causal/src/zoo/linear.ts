import type { HostTensor } from "@patchbay/core/tensor";
import { type ModelConfig, weightSpecs, type Weights } from "@patchbay/core/model";
import { causalModel, type Setting } from "../model/causal-model.ts";
import { fail } from "../model/errors.ts";
import { randomRotation } from "../das/rotation/index.ts";
import type { CausalTask } from "../task/task.ts";

/**
 * A linear toy network with planted subspaces, for checking that DAS recovers them. One token
 * t = x·n + y encodes two variables X, Y ∈ {0 … n − 1}; the embedding writes each on a circle in
 * its own 2-dimensional subspace of a random orthonormal basis U [D, D] (rows):
 *   h(x, y) = c·(cos φ_x U_0 + sin φ_x U_1) + c·(cos φ_y U_2 + sin φ_y U_3),   φ_v = 2πv / n
 * Attention and MLP are zero, so the residual stream is h; the unembedding decodes both circles:
 *   logit_(a·n + b) = h · c·(cos φ_a U_0 + sin φ_a U_1 + cos φ_b U_2 + sin φ_b U_3)
 *                   = c² (cos(φ_x − φ_a) + cos(φ_y − φ_b))
 * so the prediction is the input token (x, y) itself, and the high-level model is O = (X, Y).
 * The planted subspace of X is span(U_0, U_1), that of Y span(U_2, U_3); no coordinate axis is
 * aligned with either (U is Haar-random), so only a learned rotation isolates a variable.
 */
export interface LinearToyOptions {
  /** D, the residual width (default 12) */
  readonly dModel?: number;
  /** n, values per variable (default 4) */
  readonly values?: number;
  /** c, the radius (default 1: logits stay unsaturated, so the loss keeps pulling R onto the plane) */
  readonly scale?: number;
  /** seed of U (default 1234; not a DAS init seed, so no run starts at the answer) */
  readonly seed?: number;
}

/**
 * A one-layer toy network that writes inputs X and Y on planted planes of its residual stream, with its causal task. Returns `{ task, model, planted: { X, Y }, dModel }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linearToy } from "@patchbay/causal";
 *
 * const toy = linearToy();
 * assert.equal(toy.dModel, 12);
 * assert.deepEqual(toy.task.model.inputs, ["X", "Y"]);
 * assert.deepEqual(toy.planted.X.shape, [2, 12]);
 * ```
 */
export const linearToy = (opts: LinearToyOptions = {}) => {
  const D = opts.dModel ?? 12;
  const n = opts.values ?? 4;
  const c = opts.scale ?? 1;
  if (!(Number.isInteger(D) && D >= 4)) fail("linear toy", "dModel", "an integer ≥ 4", String(D));
  if (!(Number.isInteger(n) && n >= 3)) fail("linear toy", "values", "an integer ≥ 3 (a circle)", String(n));
  const V = n * n;
  const config: ModelConfig = {
    name: "zoo-linear-toy",
    family: "zoo",
    dModel: D,
    nLayers: 1,
    nHeads: 1,
    nKvHeads: 1,
    dHead: 1,
    dMlp: null,
    gatedMlp: false,
    act: "relu",
    vocabSize: V,
    nCtx: 1,
    positional: "none",
    rotary: null,
    norm: "none",
    normEps: 1e-5,
    parallelResidual: false,
    attnScale: 1,
  };
  const U = randomRotation(D, D, opts.seed ?? 1234); // [D, D] rows orthonormal
  const weights = new Map<string, HostTensor>();
  for (const s of weightSpecs(config))
    if (s.required)
      weights.set(s.name, {
        data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)),
        shape: [...s.shape],
      });
  const circle = (v: number, row: number): number[] =>
    Array.from(
      { length: D },
      (_, d) =>
        c *
        (Math.cos((2 * Math.PI * v) / n) * U[row * D + d]! +
          Math.sin((2 * Math.PI * v) / n) * U[(row + 1) * D + d]!),
    );
  const WE = weights.get("embed.W_E")! as { data: Float32Array }; //  [V, D]
  for (let x = 0; x < n; x++)
    for (let y = 0; y < n; y++) {
      const hx = circle(x, 0);
      const hy = circle(y, 2);
      for (let d = 0; d < D; d++) WE.data[(x * n + y) * D + d] = hx[d]! + hy[d]!;
    }
  const WU = weights.get("unembed.W_U")! as { data: Float32Array }; //  [D, V]
  for (let a = 0; a < n; a++)
    for (let b = 0; b < n; b++) {
      const ua = circle(a, 0);
      const ub = circle(b, 2);
      for (let d = 0; d < D; d++) WU.data[d * V + a * n + b] = ua[d]! + ub[d]!;
    }
  const values = Array.from({ length: n }, (_, v) => v);
  const model = causalModel({
    name: "linear-toy",
    variables: [
      { name: "X", values, parents: [] },
      { name: "Y", values, parents: [] },
      {
        name: "O",
        values: Array.from({ length: V }, (_, t) => t),
        parents: ["X", "Y"],
        mechanism: (s: Setting) => (s.X as number) * n + (s.Y as number),
      },
    ],
    output: "O",
  });
  const task: CausalTask = {
    name: "linear-toy",
    model,
    families: [
      { name: "X", variables: [["X"]] },
      { name: "Y", variables: [["Y"]] },
      // sources that share the base's Y (held out: the source's Y can never leak into the label)
      {
        name: "X-same-Y",
        variables: [["X"]],
        sources: (base, u) => [{ X: Math.floor(u() * n), Y: base.Y! }],
      },
      // X from one source and Y from another: a two-variable, two-source interchange
      { name: "X,Y", variables: [["X"], ["Y"]] },
    ],
    encode: (s) => [(s.X as number) * n + (s.Y as number)],
    label: (o) => o as number,
  };
  /** the planted subspaces: X in rows U_0, U_1 and Y in U_2, U_3, each [2, D] */
  const plane = (row: number): HostTensor => ({
    data: Float32Array.from(U.subarray(row * D, (row + 2) * D)),
    shape: [2, D],
  });
  return {
    task,
    model: { config, weights: weights as Weights },
    planted: { X: plane(0), Y: plane(2) },
    dModel: D,
  };
};
