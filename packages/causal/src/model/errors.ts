import { Data } from "effect";

/**
 * A high-level causal model, counterfactual dataset, alignment or artifact that does not fit:
 * names the model (or file), the field (variable, example, alignment entry) and what was expected.
 */
export class CausalError extends Data.TaggedError("CausalError")<{
  /** the causal model, task or file the problem is in */
  readonly where: string;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.where}: ${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}

export const fail = (where: string, field: string, expected: string, found: string): never => {
  throw new CausalError({ where, field, expected, found });
};

/** A short display of any value, for error messages. */
export const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
};
