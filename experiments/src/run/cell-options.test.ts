import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { decodeExperiment, expandCells } from "../spec/load.ts";
import { runReadoutCell } from "../kinds/readout/cell.ts";
import { runCell } from "./cell.ts";

/**
 * The option audit at the cell: the fields an experiment cell reads itself, beside its
 * method's own (audited in packages/readouts/src/options.test.ts and
 * packages/causal/src/options.test.ts), each change the result where the file may give them:
 * causal task fields (family, n, seed, options, heldOut, test) under iia, iia-sweep and das, the
 * das fields the cell maps (controls, boundless and its temperature schedule), and the readout
 * cell's own (tuned-lens topK / tablePrompt / heldOut, the built-in datasets' n, seed, options).
 * Where a field would be ignored the file is refused (experiments/src/spec/method-options.test.ts).
 */
type Doc = Readonly<Record<string, unknown>>;
const isObj = (x: unknown): x is Doc => typeof x === "object" && x !== null && !Array.isArray(x);
const merge = (a: Doc, b: Doc): Doc =>
  Object.fromEntries([
    ...Object.entries(a).filter(([k]) => !(k in b)),
    ...Object.entries(b).map(([k, v]) => [k, isObj(a[k]) && isObj(v) ? merge(a[k] as Doc, v) : v]),
  ]);

const specOf = (doc: Doc) =>
  Effect.runSync(
    Effect.map(
      Effect.flatMap(decodeExperiment({ ...doc }, "audit.yaml"), expandCells),
      (cells) => cells[0]!.spec,
    ),
  );
const omit = (x: object, ...keys: string[]) =>
  Object.fromEntries(Object.entries(x).filter(([k]) => !keys.includes(k)));

/** The computed part of a cell's result (no spec, cell id, artifact path or echoed names). */
const measure = (r: Record<string, unknown>): unknown => {
  if (r.kind === "causal") {
    const iia = r.iia as { accuracy: number; perFamily: Record<string, { accuracy: number }> } | null;
    const das = r.das as Record<string, unknown> | null;
    return {
      iia: iia && {
        accuracy: iia.accuracy,
        perFamily: Object.entries(iia.perFamily).map(([k, v]) => [k, v.accuracy]),
      },
      sweep: r.sweep && omit(r.sweep as object, "sites", "positions", "variable"),
      das: das && omit(das, "variable", "site", "positions", "parametrization", "artifact"),
    };
  }
  const out = r.result as Record<string, unknown>;
  return "artifact" in out ? omit(out, "artifact") : out;
};
const run = (doc: Doc) =>
  Effect.gen(function* () {
    const spec = specOf(doc);
    const out = yield* runCell({ spec, baseDir: "." });
    return measure(out.result as unknown as Record<string, unknown>);
  });

interface Row {
  readonly name: string;
  readonly change: Doc;
  /** compared with the base merged with this (default: the base) */
  readonly against?: Doc;
  readonly refusedAtRun?: string;
}
const audit = (base: Doc, rows: readonly Row[]) =>
  Effect.runPromise(
    Effect.gen(function* () {
      for (const r of rows) {
        const changed = merge(base, r.change);
        if (r.refusedAtRun !== undefined) {
          const out = yield* Effect.either(run(changed));
          if (Either.isRight(out)) throw new Error(`${r.name}: accepted`);
          expect(out.left.message, r.name).toContain(r.refusedAtRun);
          continue;
        }
        const a = JSON.stringify(yield* run(merge(base, r.against ?? {})));
        const b = JSON.stringify(yield* run(changed));
        expect(b, `${r.name} must change the result`).not.toBe(a);
      }
    }),
  );

const toy = { kind: "causal", task: { builtin: "linear-toy", family: "X", n: 32 }, seeds: [0] };
const partial = {
  variable: "X",
  site: "blocks.0.resid_post",
  positions: ["last"],
  subspace: { dims: [0, 2] },
}; // IIA ≈ 0.56
const taskRows: Row[] = [
  { name: "task.n", change: { task: { n: 48 } } },
  { name: "task.seed", change: { task: { seed: 5 } } },
  { name: "task.family", change: { task: { family: "X-same-Y" } } },
  { name: "task.options", change: { task: { options: { seed: 3 } } } },
];
const heldOut = { task: { heldOut: ["X-same-Y"] } };

describe("every field an experiment cell reads changes its result", () => {
  it("causal iia: the task fields, held-out families and their test pairs", () =>
    audit({ ...toy, method: { _tag: "iia", alignment: [partial] } }, [
      ...taskRows,
      { name: "task.heldOut", change: heldOut },
      {
        name: "task.test with held-out families",
        change: merge(heldOut, { task: { test: 16 } }),
        against: heldOut,
      },
    ]));

  it("causal iia-sweep: the task fields, sites and subspace", () =>
    audit(
      {
        ...toy,
        method: {
          _tag: "iia-sweep",
          variable: "X",
          sites: ["blocks.0.resid_post"],
          positions: ["last"],
          subspace: { dims: [0, 2] },
        },
      },
      [
        ...taskRows,
        { name: "sites resid", change: { method: { sites: "resid" } } },
        { name: "subspace full", change: { method: { subspace: "full" } } },
      ],
    ));

  it("causal das: the task fields, test pairs, held-out families, controls, boundless and its schedule", () =>
    audit(
      merge(toy, {
        task: { test: 16 },
        method: {
          _tag: "das",
          variable: "X",
          site: "blocks.0.resid_post",
          positions: ["last"],
          steps: 8,
          lr: 0.05,
        },
      }),
      [
        ...taskRows,
        { name: "task.test", change: { task: { test: 24 } } },
        { name: "task.heldOut", change: heldOut },
        { name: "controls false", change: { method: { controls: false } } },
        { name: "rank 2", change: { method: { rank: 2 } } },
        { name: "parametrization expm", change: { method: { parametrization: "expm" } } },
        { name: "batchSize 8", change: { method: { batchSize: 8 } } },
        { name: "warmup 0.5", change: { method: { warmup: 0.5 } } },
        { name: "boundless", change: { method: { boundless: {} } } },
        ...(
          [
            ["sizePenalty", 0.5],
            ["lr", 0.1],
            ["from", 5],
            ["to", 1],
            ["schedule", "exponential"],
          ] as const
        ).map(([k, v]) => ({
          name: `boundless.${k}`,
          change: { method: { boundless: { [k]: v } } },
          against: { method: { boundless: {} } },
        })),
      ],
    ));

  const readout = (method: Doc, data: Doc) => ({
    kind: "readout",
    model: "builtin:induction",
    data,
    method,
    seeds: [0],
  });
  it("readout tuned lens: topK, tablePrompt, heldOut (and none held out of one prompt)", () =>
    audit(readout({ _tag: "tuned-lens", steps: 2, batchSize: 2 }, { task: { n: 6 } }), [
      { name: "topK", change: { method: { topK: 2 } } },
      { name: "tablePrompt", change: { method: { tablePrompt: 1 } } },
      { name: "heldOut 0.5", change: { method: { heldOut: 0.5 } } },
      { name: "heldOut 0", change: { method: { heldOut: 0 } } },
      { name: "seed", change: { method: { seed: 9 } } },
      {
        name: "heldOut with one prompt",
        change: { data: { task: { n: 1 } } },
        refusedAtRun: "method.heldOut",
      },
    ]));

  it("readout built-in datasets: prev-token n, seed, length, vocabSize; induction-steering a, b, others", async () => {
    await audit(
      readout({ _tag: "probe", site: "blocks.0.resid_post", maxIter: 20 }, { example: "prev-token", n: 12 }),
      [
        { name: "data.n", change: { data: { n: 16 } } },
        { name: "data.seed", change: { data: { seed: 4 } } },
        { name: "data.options.length", change: { data: { options: { length: 6 } } } },
        { name: "data.options.vocabSize", change: { data: { options: { vocabSize: 12 } } } },
      ],
    );
    await audit(
      readout(
        { _tag: "steering", site: "blocks.1.resid_post", alphas: [1] },
        { example: "induction-steering" },
      ),
      [
        { name: "data.options.a", change: { data: { options: { a: 7 } } } },
        { name: "data.options.b", change: { data: { options: { b: 8 } } } },
        { name: "data.options.others", change: { data: { options: { others: [10, 11, 12, 13] } } } },
      ],
    );
  });

  it("a method seed filled from the cell's seed where it reads nothing runs (it is not the file's)", async () => {
    for (const method of [
      { _tag: "tuned-lens", steps: 0, heldOut: 0 },
      { _tag: "neurons", records: { site: "blocks.1.attn.z", index: 3, randomK: 0, quantiles: 0 } },
    ]) {
      const spec = specOf({ ...readout(method, { task: { n: 4 } }), seeds: [2] });
      if (spec.kind !== "readout") throw new Error("not a readout cell");
      expect(JSON.stringify(spec.method)).toContain('"seed":2');
      await Effect.runPromise(runReadoutCell({ spec, baseDir: "." }));
    }
  });
});
