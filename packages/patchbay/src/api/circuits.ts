import {
  type Discovered,
  Discovery,
  discover as discoverEffect,
  discoveryProblem,
  type Method,
  prepareEdges,
  type Selection,
  taskReference,
} from "@patchbay/circuits";
import { attempt, InputError } from "@patchbay/core/errors";
import type { EdgeAblation } from "@patchbay/core/patching";
import type { EdgeLayout, Granularity } from "@patchbay/core/edges";
import type { MetricKind } from "@patchbay/core/engine";
import { Effect, Either, ParseResult, Schema } from "effect";
import { type PatchbayModel, withModel } from "./model.ts";
import { rejectUnknown } from "./options.ts";
import { loadTask, type TaskInput } from "./task.ts";

export type { GeneratedTask, TaskInput } from "./task.ts";

/** What every discovery takes besides its method; the defaults are `patchbay circuit`'s. */
export interface CircuitOptions {
  /** What an ablated edge carries instead: resample (default), zero, mean, mean-positional. */
  readonly ablation?: EdgeAblation;
  /** logit-diff (default), prob-diff, logprob, prob, cross-entropy, kl. */
  readonly metric?: MetricKind;
  /** head (default), head-qkv or layer. */
  readonly granularity?: Granularity;
  /** How the circuit is chosen from the scores; default: the smallest top-n with faithfulness ≥ 0.9. Not with acdc. */
  readonly selection?: Selection;
  /** Edges sampled for the Spearman check against exact patching (default 64; 0: skip). */
  readonly checkSample?: number;
  /** Seed of that sample (default 0). */
  readonly checkSeed?: number;
}

/** A discovery's result: the Effect API's `Discovered`, with edge names. */
export interface CircuitResult extends Discovered {
  /** [E] every edge's name (EAP-IG/MIB, e.g. "a0.h1->a1.h2<k>"), aligned with `scores` and `inGraph`. */
  readonly edges: readonly string[];
  /** The names of the edges in the circuit. */
  readonly circuit: readonly string[];
  /** The component graph the edges belong to. */
  readonly layout: EdgeLayout;
}

const DEFAULT_SELECTION = { _tag: "faithful", target: 0.9, absolute: true } as const;
const COMMON = ["ablation", "metric", "granularity", "selection", "checkSample", "checkSeed"];
const decodeDiscovery = Schema.decodeUnknownEither(Discovery, { onExcessProperty: "error" });

/**
 * Any discovery method, as `patchbay circuit` and experiment files run it: read the task, compute
 * the ablated source outputs (`prepareEdges`), then `discover` (scores, selection, evaluation,
 * the Spearman check against exact patching).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { circuits, open } from "patchbay";
 *
 * await using model = await open("builtin:induction", { threads: 1 });
 * const r = await circuits.discover(model, { n: 8 }, { method: { _tag: "eap" }, checkSample: 0 });
 * assert.equal(r.scores.length, r.edges.length);
 * ```
 */
export const discover = (
  model: PatchbayModel,
  task: TaskInput,
  options: CircuitOptions & { readonly method: Method },
): Promise<CircuitResult> =>
  withModel(model, "circuits.discover", (m) =>
    Effect.gen(function* () {
      yield* attempt(() => rejectUnknown(options, ["method", ...COMMON], "circuit options"), InputError);
      const { ablation = "resample", metric = "logit-diff", granularity = "head", ...rest } = options;
      const spec = yield* decodeSpec({
        method: rest.method,
        // ACDC selects its own circuit (a selection with it is refused by discoveryProblem)
        selection: rest.selection ?? (rest.method._tag === "acdc" ? undefined : DEFAULT_SELECTION),
        checkSample: rest.checkSample ?? 64,
        checkSeed: rest.checkSeed ?? 0,
      });
      const refused = discoveryProblem(spec, ablation);
      if (refused !== null) return yield* refused;
      const t = yield* loadTask(m, task, metric);
      const setup = yield* prepareEdges(
        m.sessions,
        m,
        {
          ...t,
          ablation,
          metric,
          ...taskReference(t, ablation),
        },
        granularity,
      );
      const r = yield* discoverEffect(setup, spec);
      const edges = setup.layout.edges.map((e) => e.name);
      return { ...r, edges, circuit: edges.filter((_, i) => r.inGraph[i]), layout: setup.layout };
    }),
  );

const decodeSpec = (raw: unknown): Effect.Effect<Discovery, InputError> => {
  const d = decodeDiscovery(raw);
  return Either.isRight(d)
    ? Effect.succeed(d.right)
    : Effect.fail(
        new InputError({
          field: "circuit options",
          expected: "a discovery (method, selection, checkSample, checkSeed)",
          found: ParseResult.TreeFormatter.formatErrorSync(d.left),
        }),
      );
};

/** Split a method's own options from the common ones, refusing what neither reads. */
const split = <O extends CircuitOptions>(options: O, own: readonly string[], name: string) => {
  const common: Record<string, unknown> = {};
  const mine: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) (own.includes(k) ? mine : common)[k] = v;
  rejectUnknown(options, [...own, ...COMMON], name); // an InputError: the async caller rejects with it
  return { common: common as CircuitOptions, mine };
};

/**
 * EAP (Syed et al. 2023): edge scores from one gradient of the edge mask.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { circuits, open } from "patchbay";
 *
 * await using model = await open("builtin:induction", { threads: 1 });
 * const r = await circuits.eap(model, { n: 8 }, { checkSample: 0 }); // the builtin's task: 8 pairs
 * assert.ok(r.evaluation.faithfulness >= 0.9);                 // the smallest top-n circuit with f ≥ 0.9
 * assert.ok(r.circuit.includes("a1.h2->logits"));              // the induction head writes the answer
 * ```
 */
export const eap = (
  model: PatchbayModel,
  task: TaskInput,
  options: CircuitOptions = {},
): Promise<CircuitResult> => discover(model, task, { ...options, method: { _tag: "eap" } });

/** EAP-IG's options: integration steps, and whether it integrates over inputs (default) or activations. */
export interface EapIgOptions extends CircuitOptions {
  /** Integration steps (default 5). */
  readonly steps?: number;
  /** inputs (default: the embeddings, resample ablation only) or activations (from the ablated z′). */
  readonly over?: "inputs" | "activations";
  /** over inputs only: the floats one run may hold (default 6 GiB worth); the scores do not change */
  readonly maxFloats?: number;
}

/**
 * EAP-IG (Hanna et al. 2024): EAP's gradient integrated along a path of `steps` points.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { circuits, open } from "patchbay";
 *
 * await using model = await open("builtin:induction", { threads: 1 });
 * const r = await circuits.eapIg(model, { n: 8 }, { steps: 3, checkSample: 0 });
 * assert.match(r.method, /eap-ig/);
 * ```
 */
export const eapIg = async (
  model: PatchbayModel,
  task: TaskInput,
  options: EapIgOptions = {},
): Promise<CircuitResult> => {
  const { common, mine } = split(options, ["steps", "over", "maxFloats"], "eapIg options");
  if (mine.over !== undefined && mine.over !== "inputs" && mine.over !== "activations")
    throw new InputError({
      field: "eapIg options.over",
      expected: "inputs or activations",
      found: JSON.stringify(mine.over),
    });
  const tag = mine.over === "activations" ? "eap-ig-activations" : "eap-ig-inputs";
  return discover(model, task, {
    ...common,
    // maxFloats with over activations: the method schema refuses it (an InputError naming it)
    method: {
      _tag: tag,
      steps: (mine.steps as number | undefined) ?? 5,
      ...(mine.maxFloats !== undefined ? { maxFloats: mine.maxFloats as number } : {}),
    },
  });
};

/**
 * Exact edge patching: every edge ablated alone (batched); the scores EAP approximates.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { circuits, open } from "patchbay";
 *
 * await using model = await open("builtin:induction", { threads: 1 });
 * const r = await circuits.exact(model, { n: 4 }, { checkSample: 0 });
 * assert.ok(r.scores.every(Number.isFinite));
 * ```
 */
export const exact = (
  model: PatchbayModel,
  task: TaskInput,
  options: CircuitOptions = {},
): Promise<CircuitResult> => discover(model, task, { ...options, method: { _tag: "exact" } });

/** ACDC's options (it selects its circuit itself: no `selection`). */
export interface AcdcOptions extends Omit<CircuitOptions, "selection"> {
  /** Threshold τ on the damage of removing an edge (default 0.1, as `patchbay circuit`). */
  readonly tau?: number;
  /** Order in which each node's parents are tried: normal (default), reverse, random. */
  readonly order?: "normal" | "reverse" | "random";
  /** Shuffles the parents with order random (0 otherwise). */
  readonly seed?: number;
  /** Compare |Δ| (default false: the signed damage). */
  readonly absolute?: boolean;
}

/**
 * ACDC (Conmy et al. 2023): remove every edge whose removal changes the metric by less than τ.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { circuits, open } from "patchbay";
 *
 * await using model = await open("builtin:induction", { threads: 1 });
 * const r = await circuits.acdc(model, { n: 8 }, { tau: 0.5, checkSample: 0 });
 * assert.ok(r.circuit.includes("a0.h1->a1.h2<k>"));
 * ```
 */
export const acdc = async (
  model: PatchbayModel,
  task: TaskInput,
  options: AcdcOptions = {},
): Promise<CircuitResult> => {
  const { common, mine } = split(options, ["tau", "order", "seed", "absolute"], "acdc options");
  return discover(model, task, {
    ...common,
    method: {
      _tag: "acdc",
      tau: (mine.tau as number | undefined) ?? 0.1,
      order: (mine.order as "normal" | "reverse" | "random" | undefined) ?? "normal",
      seed: (mine.seed as number | undefined) ?? 0,
      absolute: (mine.absolute as boolean | undefined) ?? false,
    },
  });
};
