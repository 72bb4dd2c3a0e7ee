import { InputError } from "@patchbay/core/errors";

/**
 * Option validation shared by the compiled zoo models and their tasks. Every numeric option of a
 * builtin has a range, checked before anything is built: an InputError names the option, the
 * range and the value (through `builtin:` specs, a ConfigError naming the spec as well). The upper
 * bounds keep a model's weights within a few hundred MB, so no option value can make a builder
 * allocate without limit (the largest: builtin:induction at vocabSize = nCtx = 512, 37M floats).
 */

/** `v` if it is a safe integer ≥ `min`, else an InputError on `field`. */
export const positiveInt = (field: string, v: number, min: number): number => {
  if (!Number.isSafeInteger(v) || v < min)
    throw new InputError({ field, expected: `an integer ≥ ${min}`, found: String(v) });
  return v;
};

/** `v` if it is an integer in [min, max], else an InputError naming the option, range and value. */
export const intInRange = (field: string, v: number, min: number, max: number): number => {
  if (!Number.isSafeInteger(v) || v < min || v > max)
    throw new InputError({ field, expected: `an integer ≥ ${min} and ≤ ${max}`, found: String(v) });
  return v;
};

/** `v` if it is a finite number in [min, max], else an InputError naming the option, range and value. */
export const numberInRange = (field: string, v: number, min: number, max: number): number => {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
    throw new InputError({ field, expected: `a finite number ≥ ${min} and ≤ ${max}`, found: String(v) });
  return v;
};

/** Seeds of the zoo's generators: mulberry32 and the distractor streams use 32 bits. */
export const MAX_SEED = 2 ** 32 - 1;

/** Attention-score and logit scales of the compiled models: 0 (degenerate) up to 1000. */
export const MAX_SCALE = 1000;

/** An InputError on `field` unless v ≤ max (`bound` names max in the message: "≤ bound = max"). */
export const atMost = (field: string, v: number, bound: string, max: number): void => {
  if (v > max) throw new InputError({ field, expected: `≤ ${bound} = ${max}`, found: String(v) });
};
