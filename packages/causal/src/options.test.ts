import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import type { VariableAlignment } from "./alignment/schema.ts";
import { dasWithControls } from "./controls/controls.ts";
import { type DasOptions, das, rotationValues } from "./das/train.ts";
import { iia } from "./iia/iia.ts";
import { iiaSweep } from "./iia/sweep.ts";
import { counterfactuals } from "./model/counterfactuals.ts";
import { linearToy } from "./zoo/linear.ts";

/**
 * The option audit of the causal methods: every option of DAS (plain and boundless),
 * its controls, IIA and the IIA sweep either changes the result or is refused with a typed error
 * naming it. Each row changes one thing from its base run (the linear toy, X at the residual
 * stream, 20 Adam steps) and says what must happen. The task fields of experiment files (family,
 * n, test, heldOut, seed) are audited where the cell reads them (experiments/src/run/causal-options.test.ts).
 */
const toy = linearToy();
const family = toy.task.families[0]!;
const train = counterfactuals(toy.task.model, family, { n: 48, seed: 1 });
const test = counterfactuals(toy.task.model, family, { n: 32, seed: 2 });
const site = "blocks.0.resid_post";
const entry: VariableAlignment = { variable: "X", site, positions: ["last"], subspace: "full" };

type Expect = "changes" | "same" | { readonly refused: string; readonly mentions: readonly string[] };
interface DasRow {
  readonly name: string;
  readonly opts: DasOptions & { readonly controlSeed?: number };
  readonly entry?: Partial<VariableAlignment>;
  readonly expect: Expect;
}
const plain: DasOptions = { rank: 2, steps: 20, lr: 0.05 };
const boundless: DasOptions = { steps: 20, lr: 0.05, boundless: { lr: 0.02 } };
const refused = (field: string, ...mentions: string[]): Expect => ({ refused: field, mentions });

const dasRows: { readonly base: DasOptions; readonly rows: readonly DasRow[] }[] = [
  {
    base: plain,
    rows: [
      ...(["householder", "expm", "retraction"] as const).map((p) => ({
        name: `parametrization ${p}`,
        opts: { parametrization: p },
        expect: "changes" as const,
      })),
      { name: "rank 1", opts: { rank: 1 }, expect: "changes" },
      { name: "steps 25", opts: { steps: 25 }, expect: "changes" },
      { name: "lr 0.01", opts: { lr: 0.01 }, expect: "changes" },
      { name: "batchSize 16", opts: { batchSize: 16 }, expect: "changes" },
      { name: "warmup 0.5", opts: { warmup: 0.5 }, expect: "changes" },
      { name: "seed 1", opts: { seed: 1 }, expect: "changes" },
      {
        name: "no rank, entry {rank: 1}",
        opts: { rank: undefined },
        entry: { subspace: { rank: 1 } },
        expect: "changes",
      },
      { name: "entry {rank: 2} agreeing", opts: {}, entry: { subspace: { rank: 2 } }, expect: "same" },
      {
        name: "entry {rank: 3} against rank 2",
        opts: {},
        entry: { subspace: { rank: 3 } },
        expect: refused("rank", "entry.subspace"),
      },
      {
        name: "entry {dims}",
        opts: {},
        entry: { subspace: { dims: [0, 1] } },
        expect: refused("entry.subspace", "rotation"),
      },
    ],
  },
  {
    base: boundless,
    rows: [
      ...(["householder", "expm", "retraction"] as const).map((p) => ({
        name: `boundless: parametrization ${p}`,
        opts: { parametrization: p },
        expect: "changes" as const,
      })),
      { name: "boundless: steps 25", opts: { steps: 25 }, expect: "changes" },
      { name: "boundless: lr 0.01", opts: { lr: 0.01 }, expect: "changes" },
      { name: "boundless: seed 1", opts: { seed: 1 }, expect: "changes" },
      ...(
        [
          ["sizePenalty 0.5", { sizePenalty: 0.5 }],
          ["boundary lr 0.1", { lr: 0.1 }],
          ["init", { init: { lo: -0.5, hi: 1 } }],
          ["temperature from 5", { temperature: { from: 5 } }],
          ["temperature to 1", { temperature: { to: 1 } }],
          ["temperature exponential", { temperature: { schedule: "exponential" } }],
        ] as const
      ).map(([name, b]) => ({
        name: `boundless: ${name}`,
        opts: { boundless: { lr: 0.02, ...b } },
        expect: "changes" as const,
      })),
      { name: "boundless: rank", opts: { rank: 2 }, expect: refused("rank", "boundless") },
      {
        name: "boundless: entry {rank}",
        opts: {},
        entry: { subspace: { rank: 2 } },
        expect: refused("entry.subspace", "boundless"),
      },
      {
        name: "boundless: entry {dims}",
        opts: {},
        entry: { subspace: { dims: [0] } },
        expect: refused("entry.subspace", "rotation"),
      },
    ],
  },
];

/** The learned alignment and the training curve, as numbers. */
const numbers = (r: {
  readonly learned: Parameters<typeof rotationValues>[0];
  readonly curve: readonly { loss: number; size?: number }[];
}) => [
  ...r.learned.rotation,
  ...(r.learned.mask ?? []),
  ...(r.learned.bounds === null ? [] : [r.learned.bounds.lo, r.learned.bounds.hi]),
  ...r.curve.flatMap((c) => [c.loss, c.size ?? 0]),
];
const differ = (a: readonly number[], b: readonly number[], tol: number) =>
  a.length !== b.length || a.some((x, i) => !(Math.abs(x - b[i]!) <= tol * (1 + Math.abs(x))));

const expectRefused = (
  e: { _tag: string; message: string },
  field: string,
  mentions: readonly string[],
  name: string,
) => {
  expect(e._tag, name).toBe("CausalError");
  for (const w of [field, ...mentions]) expect(e.message, name).toContain(w);
};

const withCache = <A, E>(name: string, f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache(`options-${name}`, { threads: 1 }), f)));

describe("every option of DAS, its controls, IIA and the IIA sweep changes the result or is refused", () => {
  for (const { base, rows } of dasRows)
    it(`DAS${base.boundless !== undefined ? " (boundless)" : ""}: ${rows.length} combinations`, () =>
      withCache("das", (cache) =>
        Effect.gen(function* () {
          const baseRun = numbers(yield* das(cache, toy.model, toy.task, entry, train, base));
          for (const r of rows) {
            const opts = { ...base, ...r.opts };
            const out = yield* Effect.either(
              das(cache, toy.model, toy.task, { ...entry, ...r.entry }, train, opts),
            );
            if (typeof r.expect === "object") {
              if (Either.isRight(out)) throw new Error(`${r.name}: accepted, must be refused`);
              expectRefused(out.left, r.expect.refused, r.expect.mentions, r.name);
              continue;
            }
            if (Either.isLeft(out)) throw new Error(`${r.name}: refused: ${out.left.message}`);
            const changed = differ(baseRun, numbers(out.right), r.expect === "changes" ? 1e-9 : 0);
            expect(changed, `${r.name} must ${r.expect === "changes" ? "change" : "leave"} the result`).toBe(
              r.expect === "changes",
            );
          }
        }),
      ));

  it("the controls: controlSeed draws the random model and the random rotation", () =>
    withCache("controls", (cache) =>
      Effect.gen(function* () {
        const run = (controlSeed?: number) =>
          dasWithControls(
            cache,
            toy.model,
            toy.task,
            entry,
            { train, test },
            {
              ...plain,
              ...(controlSeed !== undefined ? { controlSeed } : {}),
            },
          );
        const a = yield* run();
        const b = yield* run(7);
        expect(b.das.learned.rotation).toEqual(a.das.learned.rotation); // the search itself is the same
        expect(b.controls.randomModel.seed).toBe(7);
        const controls = (r: typeof a) => [
          r.controls.randomModel.train,
          r.controls.randomModel.test,
          r.controls.randomRotation,
        ];
        console.log(
          `controls with controlSeed 1 (default) ${controls(a).join(", ")}; 7: ${controls(b).join(", ")}`,
        );
        expect(controls(b)).not.toEqual(controls(a));
      }),
    ));

  it("IIA: a rotation no aligned variable reads is refused; the sweep's subspace, heads-free sites and chunks", () =>
    withCache("iia", (cache) =>
      Effect.gen(function* () {
        const fit = yield* das(cache, toy.model, toy.task, entry, train, plain);
        const R = { X: rotationValues(fit.learned) };
        const ranked = { ...entry, subspace: { rank: 2 } };
        const withR = yield* iia(cache, toy.model, toy.task, [ranked], test, { rotations: R });
        const chunked = yield* iia(cache, toy.model, toy.task, [ranked], test, {
          rotations: R,
          chunkSize: 5,
        });
        expect(chunked.predicted).toEqual(withR.predicted); // chunks bound the work only
        for (const [name, alignment, rotations] of [
          ["a rotation for a full-vector entry", [entry], R],
          ["a rotation for an unaligned variable", [ranked], { ...R, Y: R.X }],
        ] as const) {
          const out = yield* Effect.either(iia(cache, toy.model, toy.task, alignment, test, { rotations }));
          if (Either.isRight(out)) throw new Error(`${name}: accepted`);
          expectRefused(out.left, `rotations.${name.includes("unaligned") ? "Y" : "X"}`, ["{rank}"], name);
        }
        const sweep = (subspace?: VariableAlignment["subspace"]) =>
          iiaSweep(
            cache,
            toy.model,
            toy.task,
            { variable: "X", sites: [site], positions: ["last"], ...(subspace ? { subspace } : {}) },
            test,
          );
        const full = yield* sweep();
        const dims = yield* sweep({ dims: [0] });
        expect(dims.grid).not.toEqual(full.grid);
      }),
    ));
});
