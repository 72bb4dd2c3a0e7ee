import { ConfigError, TensorShapeError } from "../errors/errors.ts";
import type { ModelConfig } from "../model/config.ts";
import { type Weights, weightSpecs } from "../model/weights.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { numel, sameShape, shapeString } from "../tensor/host-tensor.ts";
import { checkFinite } from "./finite.ts";
import { type Mapped, type Origin, WeightSink } from "./table.ts";

/**
 * Backstop checks of the canonical config (source parsers check their own fields first, with
 * the file's field names): sizes positive, heads grouped evenly, rotary dims even and ≤ d_head,
 * rotary scaling parameters in range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 *
 * const { config } = Weights.loadModelSync("builtin:induction");
 * Weights.checkConfig(config, "config.json"); // fine: returns
 * assert.throws(() => Weights.checkConfig({ ...config, nHeads: 0 }, "config.json"), { _tag: "ConfigError" });
 * ```
 */
export const checkConfig = (c: ModelConfig, file: string): void => {
  const bad = (field: string, expected: string, found: unknown): never => {
    throw new ConfigError({ file, field: `${field} (canonical)`, expected, found: String(found) });
  };
  const positive: (keyof ModelConfig)[] = [
    "dModel",
    "nLayers",
    "nHeads",
    "nKvHeads",
    "dHead",
    "vocabSize",
    "nCtx",
  ];
  for (const k of positive) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) bad(k, "a positive integer", v);
  }
  if (c.dMlp !== null && !(Number.isSafeInteger(c.dMlp) && c.dMlp >= 1))
    bad("dMlp", "a positive integer or null", c.dMlp);
  if (c.nHeads % c.nKvHeads !== 0) bad("nKvHeads", `a divisor of nHeads = ${c.nHeads}`, c.nKvHeads);
  if (c.rotary !== null) {
    const r = c.rotary;
    if (!Number.isSafeInteger(r.dim) || r.dim < 2 || r.dim % 2 !== 0 || r.dim > c.dHead) {
      bad("rotary.dim", `an even integer in [2, dHead = ${c.dHead}]`, r.dim);
    }
    if (!(Number.isFinite(r.base) && r.base > 0)) bad("rotary.base", "a positive number", r.base);
    const s = r.scaling;
    const positive = (v: number) => Number.isFinite(v) && v > 0;
    if (s?.kind === "llama3") {
      if (!positive(s.factor)) bad("rotary.scaling.factor", "a positive number", s.factor);
      if (!positive(s.lowFreqFactor))
        bad("rotary.scaling.lowFreqFactor", "a positive number", s.lowFreqFactor);
      if (!(positive(s.highFreqFactor) && s.highFreqFactor > s.lowFreqFactor))
        bad(
          "rotary.scaling.highFreqFactor",
          `a number > lowFreqFactor = ${s.lowFreqFactor}`,
          s.highFreqFactor,
        );
      if (!(Number.isSafeInteger(s.originalContext) && s.originalContext >= 1))
        bad("rotary.scaling.originalContext", "a positive integer", s.originalContext);
    } else if (s?.kind === "divisors") {
      if (s.divisors.length !== r.dim / 2 || !s.divisors.every(positive))
        bad("rotary.scaling.divisors", `${r.dim / 2} positive numbers (one per rotary pair)`, s.divisors);
    }
  }
  if (!(Number.isFinite(c.normEps) && c.normEps >= 0)) bad("normEps", "a finite number ≥ 0", c.normEps);
  if (!(Number.isFinite(c.attnScale) && c.attnScale > 0)) bad("attnScale", "a positive number", c.attnScale);
  for (const k of ["attnSoftcap", "finalSoftcap"] as const) {
    const cap = c[k];
    if (cap != null && !(Number.isFinite(cap) && cap > 0)) bad(k, "a positive number or null", cap);
  }
  if (c.postNorms === true && c.norm !== "rmsnorm")
    bad(
      "norm",
      "rmsnorm with postNorms (a head's share of a post-norm splits over heads only for RMSNorm)",
      c.norm,
    );
  const win = c.slidingWindow;
  if (win != null) {
    if (!(Number.isSafeInteger(win.size) && win.size >= 1))
      bad("slidingWindow.size", "a positive integer", win.size);
    if (win.layers !== "all" && win.layers !== "even")
      bad("slidingWindow.layers", `"all" or "even"`, win.layers);
  }
};

const label = (o: Origin | undefined, canonical: string): string =>
  o === undefined || o.tensor === canonical ? canonical : `${o.tensor} (as ${canonical})`;

/**
 * Check weights from anywhere (random init, training, a converter, a zoo builder) against their
 * config; throws ConfigError / TensorShapeError naming `label`, and WeightFileError for a NaN or
 * ±Inf (naming the tensor and the first bad index; weights read from files are checked as they are
 * read, in the file's own layout). Returns the weights in spec order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 *
 * const { config, weights } = Weights.loadModelSync("builtin:induction");
 * assert.equal(Weights.validateWeights(config, weights).size, weights.size);
 * const broken = new Map(weights);
 * broken.delete("unembed.W_U");
 * assert.throws(() => Weights.validateWeights(config, broken, "my weights"), { _tag: "TensorShapeError" });
 * ```
 */
export const validateWeights = (
  config: ModelConfig,
  weights: Weights,
  label = "(in-memory weights)",
): Weights => {
  const sink = new WeightSink();
  for (const [name, t] of weights) sink.set(name, t, { file: label, tensor: name });
  const checked = checkWeights({ config, sink, file: label });
  for (const [name, t] of checked) checkFinite(t, label, name);
  return checked;
};

/**
 * Every canonical tensor against weightSpecs(config): required ones present, every shape as the
 * config implies, nothing the config does not allow. Returns the weights in spec order.
 */
export const checkWeights = (m: Mapped): Weights => {
  const { config, sink, file } = m;
  checkConfig(config, file);
  const specs = weightSpecs(config);
  const out = new Map<string, HostTensor>();
  for (const s of specs) {
    const w = sink.weights.get(s.name);
    const o = sink.origin.get(s.name);
    if (w === undefined) {
      if (!s.required) continue;
      throw new TensorShapeError({
        file,
        tensor: s.name,
        expected: `a tensor of shape ${shapeString(s.shape)} (required by the config)`,
        found: "no such tensor",
      });
    }
    if (!sameShape(w.shape, s.shape) || w.data.length !== numel(s.shape)) {
      throw new TensorShapeError({
        file: o?.file ?? file,
        tensor: label(o, s.name),
        expected: `shape ${shapeString(s.shape)} (from the config)`,
        found: shapeString(w.shape),
      });
    }
    out.set(s.name, w);
  }
  const allowed = new Set(specs.map((s) => s.name));
  for (const [name, w] of sink.weights) {
    if (allowed.has(name)) continue;
    const o = sink.origin.get(name);
    throw new TensorShapeError({
      file: o?.file ?? file,
      tensor: label(o, name),
      expected: "no such tensor for this config (not a canonical weight of this architecture)",
      found: `a tensor of shape ${shapeString(w.shape)}`,
    });
  }
  return out;
};
