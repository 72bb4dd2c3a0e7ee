import { isDeepStrictEqual } from "node:util";
import { UnsupportedError } from "../errors/errors.ts";
import type { RopeScaling } from "../model/config.ts";
import { describeValue, Fields } from "./fields.ts";

/**
 * The rotary base and scaling of a Hugging Face config.json, in either spelling:
 * - transformers 4: `rope_theta` (default 10000) and `rope_scaling` (null, absent or rope_type
 *   "default" → no scaling);
 * - transformers 5: one object `rope_parameters` {rope_theta, rope_type, factor, …} (rope_type
 *   absent → "default"; rope_theta absent → the top-level one); a `rope_scaling` written beside
 *   it must say the same.
 * rope_type (legacy key: type) "llama3" → the Llama 3.1 frequency bands, every parameter required
 * as transformers requires it (factor > 0, 0 < low_freq_factor < high_freq_factor,
 * original_max_position_embeddings a positive integer). Any other rope_type (linear, dynamic,
 * yarn, longrope, …) is an UnsupportedError naming the field and the value found; a bad
 * parameter is a ConfigError naming `<object>.<key>`.
 */
export const hfRope = (f: Fields): { base: number; scaling: RopeScaling | null } => {
  const topBase = (): number => f.numOr("rope_theta", 10000, Number.MIN_VALUE);
  if (!f.has("rope_parameters")) return { base: topBase(), scaling: ropeScaling(f, "rope_scaling", null) };
  const field = "rope_parameters";
  const g = nested(f, field);
  g.unsupportedUnless(`${field}.partial_rotary_factor`, (v) => v === 1, "1 (rotary over all of head_dim)");
  const base = g.has(`${field}.rope_theta`) ? g.num(`${field}.rope_theta`, Number.MIN_VALUE) : topBase();
  const scaling = ropeScaling(f, field, "default");
  if (f.has("rope_scaling") && !isDeepStrictEqual(ropeScaling(f, "rope_scaling", null), scaling)) {
    f.fail("rope_scaling", `absent, or the scaling rope_parameters gives`, f.raw("rope_scaling"));
  }
  return { base, scaling };
};

/** The nested object `field` as Fields whose keys read `<field>.<key>`, so every error names the full field. */
const nested = (f: Fields, field: string): Fields => {
  const raw = f.raw(field);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return f.fail(field, "an object {rope_type, factor, …} or null", raw);
  }
  return new Fields(
    f.file,
    Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [`${field}.${k}`, v])),
  );
};

const ropeScaling = (f: Fields, field: string, defaultType: string | null): RopeScaling | null => {
  if (!f.has(field)) return null;
  const g = nested(f, field);
  const typeField =
    g.has(`${field}.rope_type`) || !g.has(`${field}.type`) ? `${field}.rope_type` : `${field}.type`;
  const type = defaultType !== null && !g.has(typeField) ? defaultType : g.str(typeField);
  if (type === "default") return null;
  if (type !== "llama3") {
    throw new UnsupportedError({
      file: f.file,
      what: `config field ${typeField}`,
      expected: '"llama3" or "default" (other RoPE scalings are not implemented)',
      found: describeValue(type),
    });
  }
  const positive = (key: string): number => {
    const v = g.num(`${field}.${key}`);
    return v > 0 ? v : g.fail(`${field}.${key}`, "a number > 0", v);
  };
  const factor = positive("factor");
  const lowFreqFactor = positive("low_freq_factor");
  const highFreqFactor = positive("high_freq_factor");
  if (!(lowFreqFactor < highFreqFactor)) {
    g.fail(`${field}.high_freq_factor`, `a number > low_freq_factor = ${lowFreqFactor}`, highFreqFactor);
  }
  const originalContext = g.int(`${field}.original_max_position_embeddings`);
  return { kind: "llama3", factor, lowFreqFactor, highFreqFactor, originalContext };
};
