import { makeSessionCache, openModel, type SessionCache } from "@patchbay/core/runtime";
import { Effect, Either, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../core/src/testing/shared.ts";
import { type Audited, differ, METHODS, merge, type Obj, stories } from "./options.test-support.ts";

/**
 * The option audit of the readouts: every option of every method either changes the
 * result or is refused with a typed error naming it. Each row changes one thing from its method's
 * base run (options.test-support.ts) and says what must happen:
 *   changes   the computed result differs from the base run's (or from `against`)
 *   same      a knob that only bounds the work per engine run: the result is the base run's
 *   refused   the library function fails with an InputError naming the field (the spec written
 *             into the decoded base, bypassing the Schema), and, where the rule needs neither the
 *             model nor the data, decoding the spec with the library's Schema fails naming it too
 * Experiment files decode the same Schemas (experiments/src/spec/options.test.ts).
 */
type Expect =
  | "changes"
  | "same"
  | { readonly refused: string; readonly mentions: readonly string[]; readonly schema: boolean };
interface Row {
  readonly method: string;
  readonly name: string;
  readonly change: Obj;
  readonly expect: Expect;
  /** replaces the method's base spec for this row */
  readonly base?: Obj;
  /** what the change is compared with (default: the base) */
  readonly against?: Obj;
}
const refused = (field: string, ...mentions: string[]): Expect => ({
  refused: field,
  mentions,
  schema: true,
});
/** refused by the method function only: the rule needs the model or the data */
const refusedAtRun = (field: string, ...mentions: string[]): Expect => ({
  refused: field,
  mentions,
  schema: false,
});

const rows: Row[] = [];
const row = (method: string, name: string, change: Obj, expect: Expect, extra: Partial<Row> = {}) =>
  rows.push({ method, name, change, expect, ...extra });

// logit lens
row("logit-lens", "topK 2", { topK: 2 }, "changes");
row("logit-lens", "tablePrompt 1", { tablePrompt: 1 }, "changes");
row("logit-lens", "sites", { sites: ["blocks.1.resid_pre"] }, "changes");
// tuned lens (16 prompts, minibatches of 8)
for (const [k, v] of [
  ["steps", 4],
  ["lr", 0.01],
  ["batchSize", 3],
  ["weightDecay", 1],
  ["seed", 1],
  ["sites", ["blocks.1.resid_pre"]],
  ["steps", 0],
] as const)
  row("tuned-lens", `${k} ${JSON.stringify(v)}`, { [k]: v }, "changes");
for (const [k, v] of [
  ["lr", 0.01],
  ["batchSize", 3],
  ["weightDecay", 1],
  ["seed", 1],
] as const)
  row("tuned-lens", `${k} with steps 0`, { steps: 0, [k]: v }, refused(k, "steps 0"));
// input attribution (base: every method, IG with 4 steps)
for (const metric of ["prob-diff", "logprob", "prob", "cross-entropy", "kl"])
  row("input-attribution", `metric ${metric}`, { metric }, "changes");
row("input-attribution", "input resid_pre", { input: "resid_pre" }, "changes");
row(
  "input-attribution",
  "methods [gradient, IG]",
  { methods: ["gradient", "integrated-gradients"] },
  "changes",
);
row("input-attribution", "baseline token", { baseline: { _tag: "token", token: 3 } }, "changes");
row("input-attribution", "baseline prompt", { baseline: { _tag: "prompt" } }, "changes");
row("input-attribution", "steps 5", { steps: 5 }, "changes");
row("input-attribution", "rule right", { rule: "right" }, "changes");
row("input-attribution", "vectors", { vectors: true }, "changes");
row("input-attribution", "batchSize 2 (chunks)", { batchSize: 2 }, "same");
const only = (...methods: string[]) => ({ base: { methods } });
row(
  "input-attribution",
  "occlusion: baseline token",
  { baseline: { _tag: "token", token: 3 } },
  "changes",
  only("occlusion"),
);
row("input-attribution", "occlusion: batchSize 2", { batchSize: 2 }, "same", only("occlusion"));
row("input-attribution", "gradient: vectors", { vectors: true }, "changes", only("gradient"));
row("input-attribution", "no methods", { methods: [] }, refused("methods"));
row(
  "input-attribution",
  "occlusion: steps",
  { steps: 5 },
  refused("steps", "integrated-gradients"),
  only("occlusion"),
);
row(
  "input-attribution",
  "gradient: rule",
  { rule: "right" },
  refused("rule", "integrated-gradients"),
  only("gradient"),
);
row(
  "input-attribution",
  "gradient × input: baseline",
  { baseline: { _tag: "token", token: 3 } },
  refused("baseline", "occlusion"),
  only("gradient", "gradient-x-input"),
);
row(
  "input-attribution",
  "gradient: batchSize",
  { batchSize: 2 },
  refused("batchSize", "occlusion"),
  only("gradient"),
);
row(
  "input-attribution",
  "occlusion: vectors",
  { vectors: true },
  refused("vectors", "gradient"),
  only("gradient-x-input", "occlusion"),
);
// direct logit attribution
for (const [k, v] of [
  ["heads", false],
  ["mlps", false],
  ["neurons", true],
] as const)
  row("dla", `${k} ${v}`, { [k]: v }, "changes");
row("dla (attention-only model)", "heads false", { heads: false }, "changes");
row("dla (attention-only model)", "neurons", { neurons: true }, refusedAtRun("neurons", "MLPs"));
// attention
for (const [k, v] of [
  ["patterns", false],
  ["rollout", false],
  ["residualWeight", 0.2],
] as const)
  row("attention", `${k} ${v}`, { [k]: v }, "changes");
row(
  "attention",
  "neither patterns nor rollout",
  { patterns: false, rollout: false },
  refused("rollout", "patterns"),
);
row(
  "attention",
  "residualWeight without rollout",
  { rollout: false, residualWeight: 0.2 },
  refused("residualWeight", "rollout"),
);
// probe (prev-token labels; L-BFGS capped at 30 iterations)
for (const [k, v] of [
  ["standardize", false],
  ["l2", 0.1],
  ["heldOutFraction", 0.5],
  ["seed", 1],
  ["maxIter", 10],
  ["tol", 0.01],
  ["control", false],
  ["controlSampling", "empirical"],
] as const)
  row("probe", `${k} ${v}`, { [k]: v }, "changes");
row("probe", "head 1 of attn.z", { head: 1 }, "changes", {
  against: { site: "blocks.1.attn.z" },
  base: { site: "blocks.1.attn.z", maxIter: 30 },
});
row("probe", "chunkSize 3", { chunkSize: 3 }, "same");
row(
  "probe",
  "controlSampling without control",
  { control: false, controlSampling: "empirical" },
  refused("controlSampling", "control"),
);
// steering
for (const [k, v] of [
  ["meanPositions", "last"],
  ["positions", "last"],
  ["positions", [1, 2]],
  ["alphas", [-2, 2]],
  ["metric", "logprob"],
  ["metric", "prob"],
  ["metric", "prob-diff"],
  ["metric", "cross-entropy"],
  ["generateTokens", 2],
  ["site", "blocks.1.resid_post"],
] as const)
  row("steering", `${k} ${JSON.stringify(v)}`, { [k]: v }, "changes");
row("steering", "chunkSize 1", { chunkSize: 1 }, "same");
row("steering (positions in the data)", "positions last", { positions: "last" }, "changes");
row(
  "steering (positions in the data)",
  "meanPositions",
  { meanPositions: "last" },
  refusedAtRun("meanPositions", "positivePositions"),
);
// erasure (its probe's options are the probe's)
row("erasure", "direction probe", { direction: "probe" }, "changes");
row("erasure", "maxRank 1", { maxRank: 1 }, "changes");
row("erasure", "probe.control false", { probe: { control: false } }, "changes");
row("erasure", "probe.seed 1", { probe: { seed: 1 } }, "changes");
row(
  "erasure",
  "probe.controlSampling without control",
  { probe: { control: false, controlSampling: "empirical" } },
  refused("controlSampling", "control"),
);
// neuron records (base: 3 top, 2 random, 2 quantile bins of 1)
for (const [k, v] of [
  ["index", 4],
  ["topK", 4],
  ["randomK", 3],
  ["window", 5],
  ["before", 1],
  ["quantiles", 3],
  ["perQuantile", 2],
  ["seed", 1],
  ["layerIndex", 7],
  ["site", "blocks.1.mlp.post"],
] as const)
  row("neuron records", `${k} ${JSON.stringify(v)}`, { [k]: v }, "changes");
row("neuron records", "chunkSize 2", { chunkSize: 2 }, "same");
row(
  "neuron records",
  "perQuantile without quantiles",
  { quantiles: 0, perQuantile: 2 },
  refused("perQuantile", "quantiles"),
);
const drawsNothing = {
  base: { site: "blocks.0.mlp.post", index: 3, topK: 3, randomK: 0, window: 4, quantiles: 0 },
};
row("neuron records", "nothing drawn: seed", { seed: 1 }, refused("seed", "randomK"), drawsNothing);
row("neuron records", "nothing drawn: topK", { topK: 4 }, "changes", drawsNothing);
row("neuron records", "before beyond the window", { before: 4 }, refused("before", "window"));
// neuron score (rule-based explainer and simulator, 6 top records, 3 shown)
row("neuron score", "explainTop 2", { explainTop: 2 }, "changes");
row("neuron score", "scoreTop all", { scoreTop: "all" }, "changes");
row("neuron score", "explanation", { explanation: 'tokens like "3"' }, "changes");
const given = { base: { explanation: 'tokens like "3"', explainTop: 3 } };
row("neuron score", "explanation: explainTop (scores the rest)", { explainTop: 2 }, "changes", given);
row(
  "neuron score",
  "explanation, scoreTop all: explainTop",
  { scoreTop: "all", explainTop: 2 },
  refused("explainTop", "explanation"),
  given,
);
// sparse autoencoders (20 steps)
for (const [k, v] of [
  ["positions", [2, 3]],
  ["evalFraction", 0.5],
  ["splice", false],
  ["site", "blocks.1.resid_post"],
] as const)
  row("sae", `${k} ${JSON.stringify(v)}`, { [k]: v }, "changes");
for (const [k, v] of [
  ["arch", "gated"],
  ["dictSize", 6],
  ["l1", 0.5],
  ["l1Warmup", 5],
  ["decoderNorm", "weighted-l1"],
  ["steps", 25],
  ["batchSize", 4],
  ["lr", 0.01],
  ["beta1", 0.5],
  ["beta2", 0.9],
  ["seed", 1],
  ["normalize", false],
  ["logPoints", 2],
] as const)
  row("sae", `train.${k} ${JSON.stringify(v)}`, { train: { [k]: v } }, "changes");
row("sae", "chunkSize 1", { chunkSize: 1 }, "same");
row(
  "sae",
  "gated with weighted-l1",
  { train: { arch: "gated", decoderNorm: "weighted-l1" } },
  refused("decoderNorm", "gated"),
);
row("sae", "l1Warmup without l1", { train: { l1: 0, l1Warmup: 5 } }, refused("l1Warmup", "l1"));
// sparse feature circuit (the SAE above, 4 clean/corrupted pairs)
for (const [k, v] of [
  ["positions", [4, 5]],
  ["metric", { kind: "prob" }],
  ["scores", "exact"],
  ["sizes", [1, "all"]],
  ["selection", { topN: 2 }],
] as const)
  row("sae-circuit", `${k} ${JSON.stringify(v)}`, { [k]: v }, "changes");
row("sae-circuit", "circuitsPerRun 1", { circuitsPerRun: 1 }, "same");
// feature attribution through the SAE (the library's; sae-circuit ranks by it)
for (const [k, v] of [
  ["positions", [4, 5]],
  ["metric", { kind: "prob" }],
  ["top", 6],
  ["check", 3],
  ["check", 0],
] as const)
  row("sae feature attribution", `${k} ${JSON.stringify(v)}`, { [k]: v }, "changes");
// patchscope
for (const [k, v] of [
  ["source", { site: "blocks.0.resid_post" }],
  ["source", { position: -2 }],
  ["target", { site: "blocks.1.resid_post" }],
  ["target", { position: -2 }],
  ["mapping", { _tag: "scale", factor: 2 }],
  ["generate", 2],
  ["readout", -2],
] as const)
  row("patchscope", `${k} ${JSON.stringify(v)}`, { [k]: v }, "changes");
// patchscope sweep (stories260K)
for (const [k, v] of [
  ["sites", ["blocks.0.resid_pre", "blocks.1.resid_post"]],
  ["targetSite", "blocks.0.resid_post"],
  ["prompt", "token-identity-arrow"],
  ["mapping", { _tag: "scale", factor: 0.5 }],
  ["generate", 2],
] as const)
  row("patchscope-sweep", `${k} ${JSON.stringify(v)}`, { [k]: v }, "changes");

const check = (cache: SessionCache, r: Row) =>
  Effect.gen(function* () {
    const m: Audited = METHODS[r.method]!;
    const base = r.base ?? m.base;
    const decode = (s: Obj) => Schema.decodeUnknownSync(m.schema)(s, { onExcessProperty: "error" }) as Obj;
    const run = (spec: Obj) => m.run(cache, spec as never);
    if (typeof r.expect === "object") {
      const { refused: field, mentions } = r.expect;
      const decoded = Schema.decodeUnknownEither(m.schema)(merge(base, r.change));
      if (r.expect.schema) {
        if (Either.isRight(decoded)) throw new Error(`${r.method}: ${r.name}: the Schema accepts it`);
        for (const w of [field, ...mentions])
          expect(decoded.left.message, `${r.method}: ${r.name}`).toContain(w);
      } else expect(Either.isRight(decoded), `${r.method}: ${r.name}: the Schema accepts it`).toBe(true);
      const out = yield* Effect.either(run(merge(decode(base), r.change)));
      if (Either.isRight(out)) throw new Error(`${r.method}: ${r.name}: the method accepts it`);
      expect(out.left._tag, `${r.method}: ${r.name}`).toBe("InputError");
      for (const w of [field, ...mentions]) expect(out.left.message, `${r.method}: ${r.name}`).toContain(w);
      return;
    }
    const a = m.measure((yield* run(decode(merge(base, r.against ?? {})))) as never);
    const b = m.measure((yield* run(decode(merge(base, r.change)))) as never);
    if (r.expect === "changes")
      expect(differ(a, b, 1e-6), `${r.method}: ${r.name} must change the result`).toBe(true);
    else expect(differ(a, b, 1e-5), `${r.method}: ${r.name} must leave the result as it is`).toBe(false);
  });

warnIfNoSharedModels(
  `options.test.ts: the option audit of ${Object.keys(METHODS)
    .filter((m) => METHODS[m]!.needsStories === true)
    .join(", ")} (stories260K)`,
);

describe("every option of every readout changes the result or is refused", () => {
  for (const method of Object.keys(METHODS)) {
    const mine = rows.filter((r) => r.method === method);
    it.skipIf(METHODS[method]!.needsStories === true && !hasSharedModels)(
      `${method}: ${mine.length} combinations`,
      async () => {
        await Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const cache = yield* makeSessionCache(`options-${method}`);
              if (METHODS[method]!.needsStories === true) {
                const m = yield* openModel(sharedModelPath("stories260K", "stories260K.bin"), {
                  threads: 1,
                });
                stories.model = m as typeof stories.model;
                stories.cache = m.sessions;
              }
              for (const r of mine) yield* check(cache, r);
            }),
          ),
        );
      },
    );
  }

  it("every method has rows, every row a method", () => {
    for (const method of Object.keys(METHODS))
      expect(
        rows.some((r) => r.method === method),
        method,
      ).toBe(true);
    for (const r of rows) expect(METHODS[r.method], r.method).toBeDefined();
  });
});
