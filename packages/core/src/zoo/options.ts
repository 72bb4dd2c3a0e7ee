import { InputError } from "../errors/index.ts";

/** Option validation shared by the compiled zoo models and their tasks. */

/** `v` if it is a safe integer ≥ `min`, else an InputError on `field`. */
export const positiveInt = (field: string, v: number, min: number): number => {
  if (!Number.isSafeInteger(v) || v < min)
    throw new InputError({ field, expected: `an integer ≥ ${min}`, found: String(v) });
  return v;
};

/** An InputError on `field` unless v ≤ max (`bound` names max in the message: "≤ bound = max"). */
export const atMost = (field: string, v: number, bound: string, max: number): void => {
  if (v > max) throw new InputError({ field, expected: `≤ ${bound} = ${max}`, found: String(v) });
};
