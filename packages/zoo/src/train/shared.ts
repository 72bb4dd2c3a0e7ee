import type { HostTensor } from "@patchbay/core/tensor";
import { type ModelConfig, mulberry32 } from "@patchbay/core/model";
import type { PatchingTask } from "./circuit.ts";

/** What the trained zoo tasks (induction, IOI, greater-than) share. */

/**
 * The small transformer every trained task uses: d_model 32, two layers of two heads of 16, relu,
 * learned positions, no norms; an MLP of `dMlp` (null: attention-only).
 */
export const trainedConfig = (o: {
  readonly name: string;
  readonly vocabSize: number;
  readonly nCtx: number;
  readonly dMlp: number | null;
}): ModelConfig => ({
  name: o.name,
  family: "zoo",
  dModel: 32,
  nLayers: 2,
  nHeads: 2,
  nKvHeads: 2,
  dHead: 16,
  dMlp: o.dMlp,
  gatedMlp: false,
  act: "relu",
  vocabSize: o.vocabSize,
  nCtx: o.nCtx,
  positional: "learned",
  rotary: null,
  norm: "none",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 1 / 4,
});

/** One clean/corrupted pair of a patching task and what its metric needs (`example`). */
export interface PatchingPair<E> {
  readonly clean: number[];
  readonly corrupted: number[];
  readonly example: E;
  /** The pair in the engine's metric-binding form: logit difference answer − wrong at positions. */
  readonly binding: { readonly positions: number[]; readonly answers: number[]; readonly wrong: number[] };
}

/**
 * A PatchingTask of n pairs drawn in turn by `sample` from mulberry32(seed). `metric` gets the
 * logits of the run at position p through `at(p)` (a row over the vocabulary), the pair's
 * `example` and its clean sequence.
 */
export const patchingTask = <E>(
  spec: { readonly name: string; readonly metricName: string; readonly seed: number; readonly n: number },
  sample: (rand: () => number) => PatchingPair<E>,
  metric: (at: (p: number) => Float32Array, example: E, clean: readonly number[]) => number,
): PatchingTask => {
  const rand = mulberry32(spec.seed);
  const clean: number[][] = [];
  const corrupted: number[][] = [];
  const examples: E[] = [];
  const bindings: PatchingPair<E>["binding"][] = [];
  for (let k = 0; k < spec.n; k++) {
    const pair = sample(rand);
    clean.push(pair.clean);
    corrupted.push(pair.corrupted);
    examples.push(pair.example);
    bindings.push(pair.binding);
  }
  return {
    name: spec.name,
    metricName: spec.metricName,
    clean,
    corrupted,
    positions: bindings.map((b) => b.positions),
    answers: bindings.map((b) => b.answers),
    wrong: bindings.map((b) => b.wrong),
    metric: (logits: HostTensor, r: number, b: number) => {
      const [, P, V] = logits.shape as [number, number, number];
      const at = (p: number) => logits.data.subarray((r * P + p) * V, (r * P + p + 1) * V);
      return metric(at, examples[b]!, clean[b]!);
    },
  };
};
