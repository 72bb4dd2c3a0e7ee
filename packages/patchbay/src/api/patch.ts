import { attempt, InputError, type RuntimeError, type TokenizerError } from "@patchbay/core/errors";
import { forward, type OpenModel } from "@patchbay/core/runtime";
import type { HostTensor } from "@patchbay/core/tensor";
import { interchangePatch, plan, runPlan } from "@patchbay/core/engine";
import { Effect } from "effect";
import { type MetricInput, splitMetric } from "./interventions.ts";
import { rejectUnknown } from "./options.ts";
import { sequences } from "./run.ts";

/** One prompt: a text (encoded with the model's tokenizer) or its token ids. */
export type Prompt = string | readonly number[];

export interface PatchOptions {
  /** The prompt that runs (clean, or corrupted: whichever receives the patch). */
  readonly base: Prompt;
  /** The prompt the site's values are taken from. */
  readonly source: Prompt;
  /** The site patched, in patchbay or TransformerLens spelling. */
  readonly site: string;
  /**
   * Positions patched, negative ones counting from the end (−1 = last token), so prompts of
   * different lengths align by their ends: one list for both prompts, or one each. Default:
   * every position (the prompts must then have the same length).
   */
  readonly positions?:
    | readonly number[]
    | { readonly base: readonly number[]; readonly source: readonly number[] };
  /** Only these heads (sites with a head axis). */
  readonly heads?: readonly number[];
  /** A metric on the base prompt (one example: positions, answers and wrong ids as [[…]]). */
  readonly metric?: MetricInput;
}

export interface PatchResult {
  readonly site: string;
  /** The positions patched in each prompt (negative ones resolved). */
  readonly positions: { readonly base: readonly number[]; readonly source: readonly number[] };
  /** [1, base length, d_vocab]: the base run with the site patched from the source. */
  readonly logits: HostTensor;
  /** [1, base length, d_vocab] and [1, source length, d_vocab]: the unpatched runs. */
  readonly base: HostTensor;
  readonly source: HostTensor;
  /** The metric on the base run without and with the patch, when one was asked for. */
  readonly metric: { readonly base: number; readonly patched: number } | null;
}

const resolve = (list: readonly number[], len: number, which: string, field: string): number[] =>
  list.map((n, i) => {
    const p = n < 0 ? len + n : n;
    if (!Number.isInteger(n) || p < 0 || p >= len)
      throw new InputError({
        field: `${field}[${i}]`,
        expected: `a position of the ${which} prompt (${len} tokens; negative counts from its end)`,
        found: String(n),
      });
    return p;
  });

/** Base and source positions of a patch; the default (every position) needs equal lengths. */
const patchPositions = (
  spec: PatchOptions["positions"],
  baseLen: number,
  sourceLen: number,
): { base: number[]; source: number[] } => {
  if (spec === undefined) {
    if (baseLen !== sourceLen)
      throw new InputError({
        field: "patch positions",
        expected: "positions to patch when base and source differ in length",
        found: `base ${baseLen} tokens, source ${sourceLen} tokens`,
      });
    const all = Array.from({ length: baseLen }, (_, i) => i);
    return { base: all, source: all };
  }
  const [b, s] = Array.isArray(spec)
    ? [spec as readonly number[], spec as readonly number[]]
    : [(spec as { base: readonly number[] }).base, (spec as { source: readonly number[] }).source];
  if (b.length !== s.length)
    throw new InputError({
      field: "patch positions",
      expected: "as many source positions as base positions",
      found: `${b.length} base, ${s.length} source`,
    });
  return {
    base: resolve(b, baseLen, "base", "patch positions.base"),
    source: resolve(s, sourceLen, "source", "patch positions.source"),
  };
};

/**
 * Activation patching of one site from a source prompt into a base prompt, as `patchbay patch`
 * runs it: capture the site on the source, map its values onto the base positions
 * (`interchangePatch`) and run the base with a `replace` intervention there.
 */
export const patchModel = (
  m: OpenModel,
  options: PatchOptions,
): Effect.Effect<PatchResult, InputError | RuntimeError | TokenizerError> =>
  Effect.gen(function* () {
    yield* attempt(
      () =>
        rejectUnknown(options, ["base", "source", "site", "positions", "heads", "metric"], "patch options"),
      InputError,
    );
    const [base] = (yield* sequences(m, options.base)) as [readonly number[]];
    const [source] = (yield* sequences(m, options.source)) as [readonly number[]];
    const at = yield* attempt(
      () => patchPositions(options.positions, base.length, source.length),
      InputError,
    );
    const { site } = options;
    const src = yield* forward(m.sessions, m, [source], [site]);
    const baseRun = yield* forward(m.sessions, m, [base]);
    const captured = src.sites.get(site)!;
    const value = interchangePatch(
      [1, base.length, ...captured.shape.slice(2)],
      captured,
      [at.base],
      [at.source],
    );
    const metric = splitMetric(options.metric);
    const patched = yield* runPlan(
      m.sessions,
      m,
      plan({
        interventions: [
          {
            _tag: "replace",
            target: {
              site,
              positions: [at.base],
              ...(options.heads !== undefined ? { heads: options.heads } : {}),
            },
          },
        ],
        ...metric.spec,
      }),
      [base],
      { interventions: [{ value }], ...metric.values },
    );
    const baseMetric =
      options.metric !== undefined
        ? (yield* runPlan(m.sessions, m, plan({ ...metric.spec, logits: false }), [base], metric.values))
            .metric!.mean
        : null;
    return {
      site,
      positions: at,
      logits: patched.logits!,
      base: baseRun.logits,
      source: src.logits,
      metric: baseMetric !== null ? { base: baseMetric, patched: patched.metric!.mean } : null,
    };
  });
