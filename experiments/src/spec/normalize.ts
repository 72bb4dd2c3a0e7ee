import type { CausalCellSpec } from "../kinds/causal/spec.ts";
import type { ReadoutCellSpec } from "../kinds/readout/spec.ts";
import type { CausalCellFields, CellFields, CircuitCellSpec, ReadoutCellFields } from "./schema.ts";

/**
 * A decoded cell as its normalized spec: every default filled in, seeds resolved (the data's, the
 * method's own when the file leaves it out), keys canonical. The spec is what the cell id hashes.
 */

export const normalizeCausal = (c: typeof CausalCellFields.Type): CausalCellSpec => ({
  kind: "causal",
  model: c.model ?? null,
  task: {
    builtin: c.task.builtin,
    options: c.task.options,
    family: c.task.family ?? null,
    n: c.task.n,
    test: c.task.test,
    heldOut: c.task.heldOut,
    seed: c.task.seed ?? c.seed,
  },
  method: c.method,
  runtime: { threads: c.runtime.threads },
  seed: c.seed,
});

/** Where each readout method keeps its own seed (splits, minibatches, control labels, sampling). */
const METHOD_SEED: Readonly<Record<string, readonly string[]>> = {
  "tuned-lens": ["seed"],
  probe: ["seed"],
  erasure: ["probe", "seed"],
  sae: ["train", "seed"],
  "sae-circuit": ["train", "seed"],
  neurons: ["records", "seed"],
};

/** The method with its seed set to the cell's when the file does not give one (replicates differ). */
const seedMethod = (
  method: ReadoutCellSpec["method"],
  rawMethod: unknown,
  seed: number,
): ReadoutCellSpec["method"] => {
  const path = METHOD_SEED[method._tag];
  if (path === undefined) return method;
  let r: unknown = rawMethod;
  for (const k of path)
    r = typeof r === "object" && r !== null ? (r as Record<string, unknown>)[k] : undefined;
  if (r !== undefined) return method;
  const out = structuredClone(method) as unknown as Record<string, unknown>;
  let o = out;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path.at(-1)!] = seed;
  return out as unknown as ReadoutCellSpec["method"];
};

/**
 * A readout cell's spec: the data's seed resolved to the cell's, the builtin task to the model, and
 * the method's own seed (when it has one and the file leaves it out) to the cell's.
 */
export const normalizeReadout = (c: typeof ReadoutCellFields.Type, rawMethod: unknown): ReadoutCellSpec => {
  const d = c.data;
  const data: ReadoutCellSpec["data"] =
    "task" in d
      ? {
          kind: "task",
          builtin: d.task.builtin ?? c.model,
          n: d.task.n,
          seed: d.task.seed ?? c.seed,
          options: d.task.options,
        }
      : "texts" in d
        ? { kind: "texts", texts: d.texts }
        : { kind: "example", example: d.example, n: d.n, seed: d.seed ?? c.seed, options: d.options };
  return {
    kind: "readout",
    model: c.model,
    data,
    method: seedMethod(c.method, rawMethod, c.seed),
    runtime: { threads: c.runtime.threads },
    seed: c.seed,
  };
};

/** A circuit cell's spec; `kind: circuit` is the default and is not part of the spec (ids unchanged). */
export const normalizeCircuit = (c: typeof CellFields.Type): CircuitCellSpec => ({
  model: c.model,
  task:
    "file" in c.task
      ? { kind: "file", file: c.task.file }
      : {
          kind: "builtin",
          builtin: c.task.builtin ?? c.model,
          n: c.task.n,
          seed: c.task.seed ?? c.seed,
          options: c.task.options,
        },
  method: c.method,
  ablation: c.ablation,
  metric: c.metric,
  granularity: c.granularity,
  selection: c.selection ?? null,
  evaluation: {
    curve: c.evaluation.curve,
    spearmanSample: c.evaluation.spearmanSample,
    spearmanSeed: c.evaluation.spearmanSeed ?? c.seed,
    truth: c.evaluation.truth,
  },
  runtime: { threads: c.runtime.threads },
  seed: c.seed,
});
