import type { EdgeAblation } from "@patchbay/core/patching";
import type { Granularity } from "@patchbay/core/edges";
import { gpt2SmallConfig, type ModelConfig, randomWeights } from "@patchbay/core/model";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { MetricKind } from "@patchbay/core/engine";
import { Cause, Effect, Exit, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { circuitCommand, discoveryFromFlags } from "../cli/index.ts";
import {
  type Discovered,
  type Discovery,
  discover,
  type EdgeSetup,
  Method,
  nodePatching,
  nodePositionPatching,
  pathPatching,
  prepareEdges,
  type Selection,
} from "./index.ts";

/**
 * The option audit: every option of every method either changes the result or is refused
 * with a typed error. Each row changes one thing from its method's base run (resample, logit
 * difference, head granularity, default selection, a check of 8 edges with seed 0) and says what
 * must happen. The model is a small random one with grouped-query attention (2 query heads over 1
 * key/value head, so head-qkv is a different layout from head); random weights have no exact zero
 * blocks, so an option that is read shows in the result (compiled models can hide e.g. ACDC's order).
 */
const c: ModelConfig = {
  ...gpt2SmallConfig,
  name: "audit",
  nLayers: 2,
  nHeads: 2,
  nKvHeads: 1,
  dHead: 4,
  dModel: 12,
  dMlp: 16,
  vocabSize: 24,
  nCtx: 12,
};
const model = { config: c, weights: randomWeights(c, 5) };
const seq = (k: number) => Array.from({ length: 6 }, (_, p) => (31 + k * 17 + p * (k + 3)) % c.vocabSize);
const clean = [0, 2, 4, 6].map(seq);
const corrupted = [1, 3, 5, 7].map(seq);
const positions = clean.map(() => [4, 5]);
const task = {
  clean,
  corrupted,
  reference: [...clean, ...corrupted],
  positions,
  answers: positions.map(() => [1, 2]),
  wrong: positions.map(() => [3, 4]),
};

interface Case {
  readonly ablation: EdgeAblation;
  readonly metric: MetricKind;
  readonly granularity: Granularity;
  readonly discovery: Discovery;
}
type Expect = "changes" | { readonly refused: string; readonly mentions: readonly string[] };
interface Row {
  readonly name: string;
  readonly base: Case;
  readonly change: (c: Case, baseRun: Discovered) => Case;
  readonly expect: Expect;
  /** what the change is compared with (default: the base run) */
  readonly against?: (c: Case, baseRun: Discovered) => Case;
}

const bases: Record<Method["_tag"], Method> = {
  eap: { _tag: "eap" },
  "eap-ig-inputs": { _tag: "eap-ig-inputs", steps: 3 },
  "eap-ig-activations": { _tag: "eap-ig-activations", steps: 3 },
  exact: { _tag: "exact" },
  acdc: { _tag: "acdc", tau: 0.02, order: "normal", seed: 0, absolute: false },
};
const baseCase = (method: Method): Case => ({
  ablation: "resample",
  metric: "logit-diff",
  granularity: "head",
  discovery: { method, checkSample: 8, checkSeed: 0 },
});
const withDiscovery = (d: Partial<Discovery>) => (x: Case) => ({ ...x, discovery: { ...x.discovery, ...d } });
const withMethod = (m: Partial<Method>) => (x: Case) => ({
  ...x,
  discovery: { ...x.discovery, method: { ...x.discovery.method, ...m } as Method },
});
const refused = (field: string, ...mentions: string[]): Expect => ({
  refused: "InputError",
  mentions: [field, ...mentions],
});

/** Selections parameterised from the base run's scores so that each parameter (and `absolute`) matters. */
const selections = (base: Discovered): Exclude<Selection, { _tag: "edges" }>[] => {
  const s = base.scores;
  const E = s.length;
  const f0 = base.evaluation.faithfulness; //                         of the default circuit
  const median = [...s].map(Math.abs).sort((a, b) => a - b)[Math.floor(E / 2)]!;
  return [
    { _tag: "top-n", n: Math.floor(E / 2), absolute: true },
    { _tag: "threshold", tau: median, absolute: true },
    { _tag: "greedy", n: Math.floor(E / 2), absolute: true },
    { _tag: "faithful", target: f0 + 1e-6 * (1 + Math.abs(f0)), absolute: true }, // more than the default's
  ];
};

const rows: Row[] = [];
for (const [tag, method] of Object.entries(bases) as [Method["_tag"], Method][]) {
  const base = baseCase(method);
  const row = (name: string, change: Row["change"], expect: Expect) =>
    rows.push({ name: `${tag}: ${name}`, base, change, expect });
  for (const ablation of ["zero", "mean", "mean-positional"] as const)
    row(
      `ablation ${ablation}`,
      (x) => ({ ...x, ablation }),
      tag === "eap-ig-inputs"
        ? refused("ablation", "eap-ig-inputs", `"${ablation}"`, "eap-ig-activations")
        : "changes",
    );
  for (const metric of MetricKind.literals.filter((m) => m !== "logit-diff"))
    row(`metric ${metric}`, (x) => ({ ...x, metric }), "changes");
  for (const granularity of ["head-qkv", "layer"] as const)
    row(`granularity ${granularity}`, (x) => ({ ...x, granularity }), "changes");
  row("checkSample 16", withDiscovery({ checkSample: 16 }), "changes");
  row("checkSample 0", withDiscovery({ checkSample: 0 }), "changes");
  row("checkSeed 1", withDiscovery({ checkSeed: 1 }), "changes");
  row(
    "checkSeed 1 with checkSample 0",
    withDiscovery({ checkSample: 0, checkSeed: 1 }),
    refused("checkSeed", "checkSample"),
  );
  if (tag === "eap-ig-inputs" || tag === "eap-ig-activations")
    row("steps 2", withMethod({ steps: 2 }), "changes");
  for (const k of [0, 1, 2, 3]) {
    const kind = ["top-n", "threshold", "greedy", "faithful"][k]!;
    if (tag === "acdc") {
      row(
        `selection ${kind}`,
        (x, b) => withDiscovery({ selection: selections(b)[k]! })(x),
        refused("selection", "acdc"),
      );
      continue;
    }
    row(`selection ${kind}`, (x, b) => withDiscovery({ selection: selections(b)[k]! })(x), "changes");
    // absolute: false against the same selection with absolute: true
    rows.push({
      name: `${tag}: selection ${kind}, absolute false`,
      base,
      change: (x, b) => withDiscovery({ selection: { ...selections(b)[k]!, absolute: false } })(x),
      against: (x, b) => withDiscovery({ selection: selections(b)[k]! })(x),
      expect: "changes",
    });
  }
  if (tag === "acdc") {
    row("tau ×4", withMethod({ tau: 0.08 }), "changes");
    row("order reverse", withMethod({ order: "reverse" }), "changes");
    row("order random", withMethod({ order: "random" }), "changes");
    row("absolute", withMethod({ absolute: true }), "changes");
    row("seed 1 with order normal", withMethod({ seed: 1 }), refused("method.seed", "random"));
    rows.push({
      name: "acdc: seed 1 against seed 0, order random",
      base: withMethod({ order: "random" })(base),
      change: withMethod({ seed: 1 }),
      expect: "changes",
    });
  }
}

const different = (a: Discovered, b: Discovered): boolean =>
  a.scores.length !== b.scores.length ||
  a.scores.some((s, i) => Math.abs(s - b.scores[i]!) > 1e-7 * (1 + Math.abs(s))) ||
  a.inGraph.some((x, i) => x !== b.inGraph[i]) ||
  (a.check === null) !== (b.check === null) ||
  (a.check !== null && b.check !== null && a.check.sampled.join() !== b.check.sampled.join());

/** Runs a row's base and changed case; setups shared per (ablation, metric, granularity). */
const audit = (cache: SessionCache, row: Row) =>
  Effect.gen(function* () {
    const setups = new Map<string, EdgeSetup>();
    const setupOf = (x: Case) =>
      Effect.gen(function* () {
        const key = `${x.ablation}/${x.metric}/${x.granularity}`;
        if (!setups.has(key))
          setups.set(
            key,
            yield* prepareEdges(
              cache,
              model,
              { ...task, ablation: x.ablation, metric: x.metric },
              x.granularity,
            ),
          );
        return setups.get(key)!;
      });
    const first = yield* discover(yield* setupOf(row.base), row.base.discovery);
    const against = row.against?.(row.base, first);
    const baseRun =
      against === undefined ? first : yield* discover(yield* setupOf(against), against.discovery);
    const changed = row.change(row.base, first);
    const result = yield* Effect.either(discover(yield* setupOf(changed), changed.discovery));
    return { baseRun, result };
  });

const check = (row: Row, r: Effect.Effect.Success<ReturnType<typeof audit>>) => {
  if (row.expect === "changes") {
    if (r.result._tag === "Left") throw new Error(`${row.name}: refused: ${r.result.left.message}`);
    expect(different(r.baseRun, r.result.right), `${row.name} must change the result`).toBe(true);
  } else {
    if (r.result._tag === "Right") throw new Error(`${row.name}: accepted, must be refused`);
    expect(r.result.left._tag, row.name).toBe(row.expect.refused);
    for (const m of row.expect.mentions) expect(r.result.left.message, row.name).toContain(m);
  }
};

describe("every option of every discovery method changes the result or is refused", () => {
  for (const tag of Object.keys(bases))
    it(`${tag}: ${rows.filter((r) => r.name.startsWith(`${tag}:`)).length} combinations`, async () => {
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const cache = yield* makeSessionCache(`options-${tag}`);
            for (const row of rows.filter((r) => r.name.startsWith(`${tag}:`)))
              check(row, yield* audit(cache, row));
          }),
        ),
      );
    });

  it("options foreign to a method are not in its schema: decoding refuses them", () => {
    const foreign: [Record<string, unknown>, string][] = [
      [{ _tag: "eap", steps: 3 }, "steps"],
      [{ _tag: "exact", steps: 3 }, "steps"],
      [{ _tag: "acdc", tau: 0.1, steps: 3 }, "steps"],
      [{ _tag: "eap", tau: 0.1 }, "tau"],
      [{ _tag: "eap-ig-inputs", order: "reverse" }, "order"],
      [{ _tag: "eap-ig-activations", seed: 1 }, "seed"],
      [{ _tag: "exact", absolute: true }, "absolute"],
      [{ _tag: "acdc", tau: 0.1, seed: 2 }, "seed"], //                 seed without order random
    ];
    for (const [m, field] of foreign) {
      const r = Schema.decodeUnknownEither(Method)(m, { onExcessProperty: "error" });
      expect(r._tag, JSON.stringify(m)).toBe("Left");
      if (r._tag === "Left") expect(r.left.message, JSON.stringify(m)).toContain(field);
    }
    expect(
      Schema.decodeUnknownEither(Method)({ _tag: "acdc", tau: 0.1, order: "random", seed: 2 })._tag,
    ).toBe("Right");
  });

  it("node, node × position and path patching: ablation, metric and granularity change the effects", async () => {
    const cases: Omit<Case, "discovery">[] = [
      { ablation: "resample", metric: "logit-diff", granularity: "head" },
      { ablation: "zero", metric: "logit-diff", granularity: "head" },
      { ablation: "mean", metric: "logit-diff", granularity: "head" },
      { ablation: "mean-positional", metric: "logit-diff", granularity: "head" },
      { ablation: "resample", metric: "kl", granularity: "head" },
      { ablation: "resample", metric: "logit-diff", granularity: "head-qkv" },
      { ablation: "resample", metric: "logit-diff", granularity: "layer" },
    ];
    const out = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache("options-patching");
          const res: string[] = [];
          for (const x of cases) {
            const setup = yield* prepareEdges(
              cache,
              model,
              { ...task, ablation: x.ablation, metric: x.metric },
              x.granularity,
            );
            const nodes = yield* nodePatching(setup);
            const perPos = yield* nodePositionPatching(setup);
            // a1.h1: its <q>, <k>, <v> at head-qkv, its <q> alone at head (k, v are a1.kv0's)
            const receivers = x.granularity === "layer" ? ["a1"] : ["a1.h1"];
            const paths = yield* pathPatching(setup, [
              { sender: "input", receivers },
              { sender: "m0", receivers: ["logits"] },
            ]);
            const round = (a: ArrayLike<number>) => Array.from(a, (v) => v.toPrecision(6)).join();
            res.push(
              [
                nodes.nodes.join(),
                round(nodes.effects),
                perPos.effects.map(round).join("|"),
                round(paths.effects),
              ].join(";"),
            );
          }
          return res;
        }),
      ),
    );
    // (head and head-qkv share their nodes, and node patching ablates all of a node's readers
    // either way: their node effects agree, their paths into a1.h1 do not)
    for (let i = 1; i < out.length; i++) expect(out[i], JSON.stringify(cases[i])).not.toBe(out[0]);
  });
});

/** A CLI invocation's failure: the typed error it ends with. */
const cliFailure = async (flags: Record<string, string | boolean>) => {
  const exit = await Effect.runPromiseExit(circuitCommand(flags));
  if (Exit.isSuccess(exit)) throw new Error(`accepted: ${JSON.stringify(flags)}`);
  const f = Cause.failureOption(exit.cause);
  return (f._tag === "Some" ? f.value : Cause.squash(exit.cause)) as { _tag: string; message: string };
};

describe("patchbay circuit: every flag changes the run or is refused", () => {
  it("flags the method does not read are usage errors naming the flag and the method", () => {
    const refusedFlags: [Record<string, string>, string[]][] = [
      [{ method: "eap", steps: "3" }, ["--steps", "eap"]],
      [{ method: "exact", steps: "3" }, ["--steps", "exact"]],
      [{ method: "acdc", steps: "3" }, ["--steps", "acdc"]],
      [{ method: "eap", tau: "0.2" }, ["--tau", "eap"]],
      [{ method: "exact", order: "reverse" }, ["--order", "exact"]],
      [{ method: "eap-ig", tau: "0.2" }, ["--tau", "eap-ig"]],
      [{ method: "eap-ig-activations", order: "random" }, ["--order", "eap-ig-activations"]],
      [{ method: "acdc", top: "5" }, ["--top", "acdc"]],
    ];
    for (const [flags, mentions] of refusedFlags) {
      let err: { _tag?: string; message?: string } = {};
      try {
        discoveryFromFlags(flags);
      } catch (e) {
        err = e as typeof err;
      }
      expect(err._tag, JSON.stringify(flags)).toBe("UsageError");
      for (const m of mentions) expect(err.message, JSON.stringify(flags)).toContain(m);
    }
  });

  it("flags the method reads land in the discovery", () => {
    const d = (f: Record<string, string>) => discoveryFromFlags(f);
    expect(d({ method: "eap-ig-activations", steps: "7" }).method).toEqual({
      _tag: "eap-ig-activations",
      steps: 7,
    });
    expect(d({ method: "eap-ig", steps: "2" }).method).toEqual({ _tag: "eap-ig-inputs", steps: 2 });
    expect(d({ method: "acdc", tau: "0.3", order: "reverse" }).method).toMatchObject({
      tau: 0.3,
      order: "reverse",
      seed: 0,
    });
    // --seed: the check's sample always, and ACDC's shuffle with --order random
    expect(d({ method: "acdc", order: "random", seed: "3" })).toMatchObject({
      method: { seed: 3 },
      checkSeed: 3,
    });
    expect(d({ method: "acdc", seed: "3" })).toMatchObject({ method: { seed: 0 }, checkSeed: 3 });
    expect(d({ method: "exact", seed: "4" }).checkSeed).toBe(4);
    expect(d({ method: "eap", top: "4" }).selection).toEqual({ _tag: "top-n", n: 4, absolute: true });
    expect(d({ method: "acdc" }).selection).toBeUndefined();
  });

  it("task, tokenizer, granularity and the eap-ig × ablation combination are checked before any run", async () => {
    const n = await cliFailure({ model: "builtin:induction", task: "nowhere.jsonl", n: "4" });
    expect(n._tag).toBe("UsageError");
    expect(n.message).toContain("--n");
    const tok = await cliFailure({ model: "builtin:induction", tokenizer: "tok.json" });
    expect(tok._tag).toBe("UsageError");
    expect(tok.message).toContain("--tokenizer");
    const g = await cliFailure({ model: "builtin:induction", granularity: "heads" });
    expect(g.message).toContain("head-qkv");
    const ig = await cliFailure({ model: "builtin:induction", n: "2", ablation: "zero" }); // default method eap-ig
    expect(ig._tag).toBe("InputError");
    for (const m of ["eap-ig-inputs", '"zero"', "eap-ig-activations"]) expect(ig.message).toContain(m);
  });
});
