import { InputError } from "../errors/index.ts";
import type { ModelConfig } from "../model/index.ts";

/**
 * The model's context (ModelConfig.nCtx) as a limit on every run. Learned positional embeddings
 * have no row past n_ctx, so longer sequences are refused outright. Rotary (or position-free)
 * models can run longer sequences, but past their trained context the outputs are not what the
 * model was trained to produce, so that too is refused unless the run opts in
 * (`allowLongContext`, CLI `--allow-long-context`). Opted in, a run is still bounded by
 * MAX_SEQUENCE, so no length reaches an allocation that cannot succeed.
 */
export interface ContextOptions {
  /** Let rotary models run past n_ctx (never learned-position models). Default false. */
  readonly allowLongContext?: boolean;
}

/**
 * The longest sequence any run accepts, opt-in or not: a batch's attention mask alone is
 * batch × P² bytes (1 GiB at P = 32768), and attention scores four bytes per head for each.
 */
export const MAX_SEQUENCE = 32_768;

const longContext = (c: ModelConfig, opts: ContextOptions): boolean =>
  c.positional !== "learned" && opts.allowLongContext === true;

/** The longest sequence a run may use: n_ctx, or MAX_SEQUENCE for an opted-in rotary model. */
export const contextLimit = (c: ModelConfig, opts: ContextOptions = {}): number =>
  longContext(c, opts) ? Math.max(c.nCtx, MAX_SEQUENCE) : c.nCtx;

/** What the limit is, in words, for InputError.expected. */
export const contextExpectation = (c: ModelConfig, opts: ContextOptions = {}): string =>
  longContext(c, opts)
    ? `at most ${contextLimit(c, opts)} tokens (the longest sequence any run accepts, long context allowed)`
    : c.positional === "learned"
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
    throw new InputError({ field, expected: contextExpectation(c, opts), found: `${length} tokens` });
};
