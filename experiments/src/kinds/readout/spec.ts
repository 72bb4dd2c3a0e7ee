import { Schema } from "effect";
import { commonFields, Int, Runtime } from "../../spec/schema.ts";
import { ReadoutData, type ReadoutCell } from "./data-form.ts";
import { READOUT_METHODS } from "./methods/index.ts";

/**
 * Readout experiments (`kind: readout`; docs/methods.md#readouts): a model, a dataset, one readout method of
 * @patchbay/readouts — logit / tuned lens, input attribution, direct logit attribution, attention
 * patterns, linear probes, steering, linear erasure, neuron explanations, sparse autoencoders,
 * Patchscopes (one source → target patch, or an inspection prompt swept over layers).
 * Each method's fields are the readouts package's own spec fields (same names, same defaults),
 * so `method: {_tag: probe, site: …}` in a file is exactly a ProbeSpec. A method's own seed (tuned
 * lens, probe, erasure's probe, SAE training, neuron records) follows the cell's seed unless the file
 * gives it, as the data's does, so `seeds: [0, 1, 2]` gives independent replicates. Same file
 * format, sweeps, seeds, store and reports as the other kinds.
 */

/** Every readout method's part of the file: the union of the methods' own (methods/index.ts). */
export const ReadoutMethod = Schema.Union(...READOUT_METHODS.map((m) => m.schema));
type Defined = (typeof READOUT_METHODS)[number];
export type ReadoutMethod = Schema.Schema.Type<Defined["schema"]>;
export type ReadoutMethodTag = Defined["tag"];

/** Every readout method's tag. */
export const READOUT_METHOD_TAGS: ReadonlySet<string> = new Set(READOUT_METHODS.map((m) => m.tag));

/** The normalized spec of a readout cell (what the cell id hashes and a worker receives). */
export interface ReadoutCellSpec extends ReadoutCell {
  readonly method: ReadoutMethod;
}

/** The fields of one readout cell. */
const readoutCellFields = {
  kind: Schema.Literal("readout"),
  model: Schema.String.annotations({
    description:
      "a model folder or file (relative to the experiment file), builtin:<name>[?options], or hf:owner/name[@revision] (the Hugging Face Hub)",
  }),
  data: ReadoutData,
  method: ReadoutMethod,
  runtime: Schema.optionalWith(Runtime, { default: () => ({ threads: 1 }) }),
};

export const ReadoutExperiment = Schema.Struct({ ...commonFields, ...readoutCellFields }).annotations({
  identifier: "ReadoutExperiment",
  title: "patchbay readout experiment",
  description:
    "Lenses, input attribution, DLA, attention, probes, steering, erasure, neuron explanations or SAEs on a dataset (kind: readout).",
});
export type ReadoutExperiment = typeof ReadoutExperiment.Type;

export const ReadoutCellFields = Schema.Struct({ ...readoutCellFields, seed: Int });

/** The method with its seed set to the cell's when the file does not give one (replicates differ). */
const seedMethod = (
  method: ReadoutCellSpec["method"],
  rawMethod: unknown,
  seed: number,
): ReadoutCellSpec["method"] => {
  const path = READOUT_METHODS.find((m) => m.tag === method._tag)?.seed;
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
