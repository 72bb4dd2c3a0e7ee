import { UnsupportedError } from "../errors/errors.ts";
import type { RopeScaling } from "../model/config.ts";
import { describeValue, Fields } from "./fields.ts";

/**
 * config.json `rope_scaling` (Hugging Face): null, absent or rope_type "default" → no scaling;
 * rope_type (legacy key: type) "llama3" → the Llama 3.1 frequency bands, every parameter required
 * as transformers requires it (factor > 0, 0 < low_freq_factor < high_freq_factor,
 * original_max_position_embeddings a positive integer). Any other rope_type (linear, dynamic,
 * yarn, longrope, …) is an UnsupportedError naming the field and the value found; a bad
 * parameter is a ConfigError naming `rope_scaling.<key>`.
 */
export const hfRopeScaling = (f: Fields, field = "rope_scaling"): RopeScaling | null => {
  if (!f.has(field)) return null;
  const raw = f.raw(field);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return f.fail(field, "an object {rope_type, factor, …} or null", raw);
  }
  // The nested keys read as `rope_scaling.<key>`, so every error names the full field.
  const g = new Fields(
    f.file,
    Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [`${field}.${k}`, v])),
  );
  const typeField =
    g.has(`${field}.rope_type`) || !g.has(`${field}.type`) ? `${field}.rope_type` : `${field}.type`;
  const type = g.str(typeField);
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
