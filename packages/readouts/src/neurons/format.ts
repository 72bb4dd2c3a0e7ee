import { Schema } from "effect";
import { InputError } from "@patchbay/core/errors";

/**
 * The record format of OpenAI's neuron-explainer (automated-interpretability,
 * neuron_explainer/activations/activations.py), field for field, so records written here load
 * with its `loads` (fast_dataclasses) and theirs load here:
 *
 *   ActivationRecord {tokens: str[], activations: float[]}
 *   NeuronId         {layer_index: int, neuron_index: int}
 *   NeuronRecord     {neuron_id, random_sample: ActivationRecord[],
 *                     random_sample_by_quantile: ActivationRecord[][] | null,
 *                     quantile_boundaries: float[] | null,
 *                     mean, variance, skewness, kurtosis: float | null,
 *                     most_positive_activation_records: ActivationRecord[]}
 *
 * Their serialiser adds `dataclass_name` to every object ("ActivationRecord", "NeuronId",
 * "NeuronRecord"), which their loader uses to pick the class; we write it too and accept it
 * absent. Their loader passes every other key to the dataclass constructor, so the JSON holds
 * exactly these fields and nothing else: patchbay's extras (site, stdev, max, provenance of each
 * window) live beside the record (records.ts `RecordsResult.meta`), never inside it.
 * Their `max_activation` is a property (max over the top records), not a field: `maxActivation`.
 */

export interface ActivationRecord {
  /** [n] token strings of the window. */
  readonly tokens: readonly string[];
  /** [n] the neuron's raw activation on each token. */
  readonly activations: readonly number[];
}

export interface NeuronId {
  readonly layerIndex: number;
  readonly neuronIndex: number;
}

export interface NeuronRecord {
  readonly neuronId: NeuronId;
  readonly randomSample: readonly ActivationRecord[];
  readonly randomSampleByQuantile: readonly (readonly ActivationRecord[])[] | null;
  readonly quantileBoundaries: readonly number[] | null;
  readonly mean: number | null;
  readonly variance: number | null;
  readonly skewness: number | null;
  readonly kurtosis: number | null;
  readonly mostPositiveActivationRecords: readonly ActivationRecord[];
}

/** The JSON shapes, snake_case as the Python dataclasses spell them. */
const ActivationRecordJson = Schema.Struct({
  dataclass_name: Schema.optional(Schema.Literal("ActivationRecord")),
  tokens: Schema.Array(Schema.String),
  activations: Schema.Array(Schema.Number),
});
const NeuronIdJson = Schema.Struct({
  dataclass_name: Schema.optional(Schema.Literal("NeuronId")),
  layer_index: Schema.Int,
  neuron_index: Schema.Int,
});
/** Python writes NaN for unknown moments (orjson turns NaN into null): both read as null. */
const Moment = Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null });
export const NeuronRecordJson = Schema.Struct({
  dataclass_name: Schema.optional(Schema.Literal("NeuronRecord")),
  neuron_id: NeuronIdJson,
  random_sample: Schema.optionalWith(Schema.Array(ActivationRecordJson), { default: () => [] }),
  random_sample_by_quantile: Schema.optionalWith(
    Schema.NullOr(Schema.Array(Schema.Array(ActivationRecordJson))),
    { default: () => null },
  ),
  quantile_boundaries: Schema.optionalWith(Schema.NullOr(Schema.Array(Schema.Number)), {
    default: () => null,
  }),
  mean: Moment,
  variance: Moment,
  skewness: Moment,
  kurtosis: Moment,
  most_positive_activation_records: Schema.optionalWith(Schema.Array(ActivationRecordJson), {
    default: () => [],
  }),
});
export type NeuronRecordJson = typeof NeuronRecordJson.Encoded;

const recordToJson = (r: ActivationRecord) => ({
  dataclass_name: "ActivationRecord" as const,
  tokens: [...r.tokens],
  activations: [...r.activations],
});
const recordFromJson = (r: typeof ActivationRecordJson.Type): ActivationRecord => ({
  tokens: [...r.tokens],
  activations: [...r.activations],
});

/** A finite number or null (NaN and ±∞ have no JSON spelling). */
const finiteOrNull = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

/**
 * The neuron-explainer JSON object of a record (snake_case, with dataclass_name).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { neuronRecordFromJson, neuronRecordToJson } from "@patchbay/readouts";
 * const rec = (tokens: string[]) => ({ tokens, activations: tokens.map((t) => (t === "x" ? 8 : 0)) });
 * const record = {
 *   neuronId: { layerIndex: 0, neuronIndex: 3 },
 *   randomSample: [rec(["a", "b", "x"]), rec(["c", "a", "b"])],
 *   randomSampleByQuantile: null,
 *   quantileBoundaries: null,
 *   mean: null,
 *   variance: null,
 *   skewness: null,
 *   kurtosis: null,
 *   mostPositiveActivationRecords: [rec(["a", "x", "b"]), rec(["x", "c", "a"]), rec(["b", "b", "x"])],
 * };
 * const json = neuronRecordToJson(record);
 * assert.equal(json.neuron_id.neuron_index, 3);
 * assert.deepEqual(neuronRecordFromJson(JSON.parse(JSON.stringify(json))), record); // round trip
 * ```
 */
export const neuronRecordToJson = (r: NeuronRecord): NeuronRecordJson => ({
  dataclass_name: "NeuronRecord",
  neuron_id: {
    dataclass_name: "NeuronId",
    layer_index: r.neuronId.layerIndex,
    neuron_index: r.neuronId.neuronIndex,
  },
  random_sample: r.randomSample.map(recordToJson),
  random_sample_by_quantile:
    r.randomSampleByQuantile === null ? null : r.randomSampleByQuantile.map((q) => q.map(recordToJson)),
  quantile_boundaries: r.quantileBoundaries === null ? null : [...r.quantileBoundaries],
  mean: finiteOrNull(r.mean),
  variance: finiteOrNull(r.variance),
  skewness: finiteOrNull(r.skewness),
  kurtosis: finiteOrNull(r.kurtosis),
  most_positive_activation_records: r.mostPositiveActivationRecords.map(recordToJson),
});

/**
 * Read a neuron-explainer NeuronRecord (a parsed JSON value). Bad input is an InputError naming
 * the path of the offending field; records whose tokens and activations differ in length too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { neuronRecordFromJson } from "@patchbay/readouts";
 *
 * const json = {
 *   neuron_id: { layer_index: 0, neuron_index: 3 },
 *   random_sample: [],
 *   most_positive_activation_records: [{ tokens: ["a", "x"], activations: [0, 8] }],
 * };
 * assert.equal(neuronRecordFromJson(json).mostPositiveActivationRecords[0]!.activations[1], 8);
 * assert.throws(() => neuronRecordFromJson({ ...json, neuron_id: { layer_index: "0" } }));
 * ```
 */
export const neuronRecordFromJson = (json: unknown): NeuronRecord => {
  const decoded = Schema.decodeUnknownEither(NeuronRecordJson)(json);
  if (decoded._tag === "Left")
    throw new InputError({
      field: "NeuronRecord",
      expected: "a neuron-explainer NeuronRecord (snake_case JSON)",
      found: String(decoded.left.message).slice(0, 400),
    });
  const j = decoded.right;
  const check = (rs: readonly (typeof ActivationRecordJson.Type)[], field: string) =>
    rs.forEach((r, i) => {
      if (r.tokens.length !== r.activations.length)
        throw new InputError({
          field: `${field}[${i}]`,
          expected: "as many activations as tokens",
          found: `${r.tokens.length} tokens, ${r.activations.length} activations`,
        });
    });
  check(j.random_sample, "random_sample");
  check(j.most_positive_activation_records, "most_positive_activation_records");
  for (const [i, q] of (j.random_sample_by_quantile ?? []).entries())
    check(q, `random_sample_by_quantile[${i}]`);
  return {
    neuronId: { layerIndex: j.neuron_id.layer_index, neuronIndex: j.neuron_id.neuron_index },
    randomSample: j.random_sample.map(recordFromJson),
    randomSampleByQuantile:
      j.random_sample_by_quantile === null
        ? null
        : j.random_sample_by_quantile.map((q) => q.map(recordFromJson)),
    quantileBoundaries: j.quantile_boundaries === null ? null : [...j.quantile_boundaries],
    mean: j.mean,
    variance: j.variance,
    skewness: j.skewness,
    kurtosis: j.kurtosis,
    mostPositiveActivationRecords: j.most_positive_activation_records.map(recordFromJson),
  };
};

/**
 * neuron-explainer's `max_activation` property and `calculate_max_activation`: the largest
 * ReLU'd activation over the records, max_r max_t max(0, a_rt) (negative values count as the
 * resting state, as for ReLU/GELU neurons); 0 for no records.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxActivation } from "@patchbay/readouts";
 *
 * assert.equal(maxActivation([{ tokens: ["a", "b"], activations: [-3, 2] }, { tokens: ["c"], activations: [5] }]), 5);
 * assert.equal(maxActivation([{ tokens: ["a"], activations: [-3] }]), 0); // negative is the resting state
 * ```
 */
export const maxActivation = (records: readonly ActivationRecord[]): number => {
  let m = 0;
  for (const r of records) for (const a of r.activations) if (a > m) m = a;
  return m;
};
