import { InputError } from "../errors/index.ts";
import type { ModelConfig } from "../model/index.ts";

/**
 * The model's context (ModelConfig.nCtx) as a limit on every run. Learned positional embeddings
 * have no row past n_ctx, so longer sequences are refused outright. Rotary (or position-free)
 * models can run longer sequences, but past their trained context the outputs are not what the
 * model was trained to produce, so that too is refused unless the run opts in
 * (`allowLongContext`, CLI `--allow-long-context`).
 */
export interface ContextOptions {
  /** Let rotary models run past n_ctx (never learned-position models). Default false. */
  readonly allowLongContext?: boolean;
}

/** The longest sequence a run may use: n_ctx, or unbounded for an opted-in rotary model. */
export const contextLimit = (c: ModelConfig, opts: ContextOptions = {}): number =>
  c.positional !== "learned" && opts.allowLongContext === true ? Number.POSITIVE_INFINITY : c.nCtx;

/** What the limit is, in words, for InputError.expected. */
export const contextExpectation = (c: ModelConfig): string =>
  c.positional === "learned"
    ? `at most n_ctx = ${c.nCtx} tokens (learned positional embeddings have no row past it)`
    : `at most the model's context, n_ctx = ${c.nCtx} tokens (past it a rotary model runs on positions it was never trained on; opt in with allowLongContext / --allow-long-context)`;

/** An InputError on `field` when a sequence of `length` tokens does not fit the run's context. */
export const checkContext = (
  c: ModelConfig,
  length: number,
  field: string,
  opts: ContextOptions = {},
): void => {
  if (length > contextLimit(c, opts))
    throw new InputError({ field, expected: contextExpectation(c), found: `${length} tokens` });
};
