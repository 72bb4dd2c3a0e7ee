import { attempt, InputError, type RuntimeError, TokenizerError } from "@patchbay/core/errors";
import { forward, type OpenModel, requireTokenizer } from "@patchbay/core/runtime";
import type { HostTensor } from "@patchbay/core/tensor";
import { plan, runPlan } from "@patchbay/core/engine";
import { siteCatalog } from "@patchbay/core/sites";
import { Effect } from "effect";
import {
  type InterventionInput,
  type MetricInput,
  splitInterventions,
  splitMetric,
} from "./interventions.ts";
import { rejectUnknown } from "./options.ts";

/**
 * What a model runs on: one sequence of token ids, a batch of them (right-padded, of any lengths),
 * or a text (encoded with the model's tokenizer, which must exist).
 */
export type Input = string | readonly number[] | readonly (readonly number[])[];

export interface RunOptions {
  /** Sites to capture, in patchbay or TransformerLens spelling ("blocks.0.attn.hook_pattern"). */
  readonly captures?: readonly string[];
  /** Interventions applied during the run (captured sites are the values after them). */
  readonly interventions?: readonly InterventionInput[];
  /** A metric computed in the graph (per example and as the batch mean). */
  readonly metric?: MetricInput;
}

export interface RunResult {
  /** [batch, pos, d_vocab] (batch 1 for a single sequence); rows past a sequence's length are padding. */
  readonly logits: HostTensor;
  /**
   * Each captured site under the name it was asked for, with the shape `patchbay sites` lists, e.g.
   * attn.pattern [batch, head, pos, key_pos], resid_post [batch, pos, d_model], attn.z [batch, pos, head, d_head].
   */
  readonly captures: Readonly<Record<string, HostTensor>>;
  /** The metric per example [batch] and its batch mean, when one was asked for. */
  readonly metric: { readonly perExample: Float32Array; readonly mean: number } | null;
  /** Each sequence's length. */
  readonly lengths: readonly number[];
}

export interface CacheResult {
  /** [batch, pos, d_vocab] */
  readonly logits: HostTensor;
  /** Every site of the model (patchbay names, as `patchbay sites` lists them), logits excepted. */
  readonly cache: Readonly<Record<string, HostTensor>>;
  readonly lengths: readonly number[];
}

/** Token id sequences of an input: a text is encoded with the model's tokenizer. */
export const sequences = (
  m: OpenModel,
  input: Input,
): Effect.Effect<(readonly number[])[], InputError | TokenizerError> =>
  typeof input === "string"
    ? Effect.flatMap(requireTokenizer(m), (tok) =>
        attempt(() => [tok.encode(input)], TokenizerError, InputError),
      )
    : Effect.succeed(
        input.length > 0 && Array.isArray(input[0])
          ? [...(input as readonly (readonly number[])[])]
          : [input as readonly number[]],
      );

/**
 * A forward run: the plain forward (what `patchbay logits` runs) when nothing intervenes and no
 * metric is asked for, else a plan of the intervention engine.
 */
export const runModel = (
  m: OpenModel,
  input: Input,
  options: RunOptions = {},
): Effect.Effect<RunResult, InputError | RuntimeError | TokenizerError> =>
  Effect.gen(function* () {
    yield* attempt(
      () => rejectUnknown(options, ["captures", "interventions", "metric"], "run options"),
      InputError,
    );
    const seqs = yield* sequences(m, input);
    const captures = options.captures ?? [];
    if ((options.interventions ?? []).length === 0 && options.metric === undefined) {
      const r = yield* forward(m.sessions, m, seqs, captures);
      return { logits: r.logits, captures: Object.fromEntries(r.sites), metric: null, lengths: r.lengths };
    }
    const { specs, values } = yield* attempt(
      () => splitInterventions(options.interventions ?? []),
      InputError,
    );
    const metric = splitMetric(options.metric);
    const r = yield* runPlan(m.sessions, m, plan({ captures, interventions: specs, ...metric.spec }), seqs, {
      interventions: values,
      ...metric.values,
    });
    return { logits: r.logits!, captures: Object.fromEntries(r.sites), metric: r.metric, lengths: r.lengths };
  });

/** Every site of the model captured in one forward run (TransformerLens' run_with_cache). */
export const runWithCache = (
  m: OpenModel,
  input: Input,
): Effect.Effect<CacheResult, InputError | RuntimeError | TokenizerError> =>
  Effect.gen(function* () {
    const sites = siteCatalog(m.config)
      .map((s) => s.name)
      .filter((n) => n !== "logits");
    const seqs = yield* sequences(m, input);
    const r = yield* forward(m.sessions, m, seqs, sites);
    return { logits: r.logits, cache: Object.fromEntries(r.sites), lengths: r.lengths };
  });
