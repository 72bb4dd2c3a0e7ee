import { execFileSync } from "node:child_process";
import { forward, openModel } from "@patchbay/core/runtime";
import type { HostTensor } from "@patchbay/core/tensor";
import { interchangePatch, plan, runPlan } from "@patchbay/core/engine";
import { ModelNotFoundError } from "@patchbay/core/errors";
import { siteCatalog } from "@patchbay/core/sites";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../../core/src/testing/shared.ts";
import { testdataPath } from "../../../core/src/testing/testdata.ts";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelClosedError } from "./errors.ts";
import { open, type PatchbayModel, withModel } from "./model.ts";

/** Bit-identical: the same shape and the same bytes. */
const same = (a: HostTensor, b: HostTensor) => {
  expect(a.shape).toEqual(b.shape);
  expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)).toEqual(
    Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
  );
};

/** The Effect API on its own scope, as a user of it writes it. */
const viaEffect = <A, E>(
  path: string,
  f: (m: Effect.Effect.Success<ReturnType<typeof openModel>>) => Effect.Effect<A, E>,
) => Effect.runPromise(Effect.scoped(Effect.flatMap(openModel(path, { threads: 1 }), f)));

const INDUCTION = "builtin:induction";
warnIfNoSharedModels("the Promise API's text input test (stories260K)");
const ids = [0, 5, 9, 3, 7, 5, 9, 3];

describe("Promise API: open, run, runWithCache, patch (builtin:induction)", () => {
  let model: PatchbayModel;
  beforeAll(async () => {
    model = await open(INDUCTION, { threads: 1 });
  });
  afterAll(() => model.close());

  it("run: logits and captured sites bit-identical to the Effect API's forward", async () => {
    const sites = ["blocks.0.attn.hook_pattern", "blocks.1.resid_pre"];
    const r = await model.run(ids, { captures: sites });
    const e = await viaEffect(INDUCTION, (m) => forward(m.sessions, m, [ids], sites));
    same(r.logits, e.logits);
    for (const s of sites) same(r.captures[s]!, e.sites.get(s)!);
    expect(r.captures["blocks.0.attn.hook_pattern"]!.shape).toEqual([1, model.config.nHeads, 8, 8]);
    expect(r.metric).toBeNull();
    expect(r.lengths).toEqual([8]);
  });

  it("run with interventions and a metric: bit-identical to runPlan with the same plan and values", async () => {
    // induction: after the second "3" comes 7, after the second "5" comes 9
    const metric = { kind: "logit-diff" as const, positions: [[7]], answers: [[7]], wrong: [[9]] };
    const r = await model.run([ids, ids.slice(0, 6)], {
      captures: ["blocks.1.attn.z"],
      interventions: [{ _tag: "scale", target: { site: "blocks.0.attn.z", heads: [1] }, factor: 0 }],
      metric: { ...metric, positions: [[7], [5]], answers: [[7], [9]], wrong: [[9], [3]] },
    });
    const e = await viaEffect(INDUCTION, (m) =>
      runPlan(
        m.sessions,
        m,
        plan({
          captures: ["blocks.1.attn.z"],
          interventions: [{ _tag: "scale", target: { site: "blocks.0.attn.z", heads: [1] } }],
          metric: { kind: "logit-diff" },
        }),
        [ids, ids.slice(0, 6)],
        {
          interventions: [{ factor: 0 }],
          metric: { positions: [[7], [5]], answers: [[7], [9]], wrong: [[9], [3]] },
        },
      ),
    );
    same(r.logits, e.logits!);
    same(r.captures["blocks.1.attn.z"]!, e.sites.get("blocks.1.attn.z")!);
    expect(r.metric!.mean).toBe(e.metric!.mean);
    expect([...r.metric!.perExample]).toEqual([...e.metric!.perExample]);
    // zero-ablating the previous-token head breaks induction: the clean run predicts the answer better
    const clean = await model.run(ids, { metric });
    expect(clean.metric!.mean).toBeGreaterThan(r.metric!.perExample[0]!);
  });

  it("runWithCache: every site but logits, each bit-identical to a forward capturing them all", async () => {
    const r = await model.runWithCache(ids);
    const names = siteCatalog(model.config)
      .map((s) => s.name)
      .filter((n) => n !== "logits");
    expect(Object.keys(r.cache).sort()).toEqual([...names].sort());
    const e = await viaEffect(INDUCTION, (m) => forward(m.sessions, m, [ids], names));
    for (const n of names) same(r.cache[n]!, e.sites.get(n)!);
    same(r.logits, e.logits);
    const plain = await model.run(ids);
    const maxDiff = r.logits.data.reduce((d, x, i) => Math.max(d, Math.abs(x - plain.logits.data[i]!)), 0);
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it("patch: bit-identical to patchbay patch's engine calls (capture, interchangePatch, replace)", async () => {
    const base = [0, 5, 9, 3, 7, 5];
    const source = [0, 6, 2, 8, 1, 6];
    const site = "blocks.0.resid_post";
    const metric = { kind: "logit-diff" as const, positions: [[5]], answers: [[9]], wrong: [[2]] };
    const r = await model.patch({ base, source, site, positions: [-1], metric });
    expect(r.positions).toEqual({ base: [5], source: [5] });
    const e = await viaEffect(INDUCTION, (m) =>
      Effect.gen(function* () {
        const src = yield* forward(m.sessions, m, [source], [site]);
        const value = interchangePatch(
          [1, 6, ...src.sites.get(site)!.shape.slice(2)],
          src.sites.get(site)!,
          [[5]],
          [[5]],
        );
        const patched = yield* runPlan(
          m.sessions,
          m,
          plan({ interventions: [{ _tag: "replace", target: { site, positions: [[5]] } }] }),
          [base],
          { interventions: [{ value }] },
        );
        const b = yield* forward(m.sessions, m, [base]);
        return { patched: patched.logits!, base: b.logits, source: src.logits };
      }),
    );
    same(r.logits, e.patched);
    same(r.base, e.base);
    same(r.source, e.source);
    // the last token's previous-token information now says 2 follows 6, not 9 after 5
    expect(r.metric!.base).toBeGreaterThan(0);
    expect(r.metric!.patched).toBeLessThan(r.metric!.base);
  });

  it("typed errors: a bad site, an option run does not read, an intervention field its kind does not read", async () => {
    await expect(model.run(ids, { captures: ["blocks.9.attn.z"] })).rejects.toMatchObject({
      _tag: "InputError",
      field: 'site "blocks.9.attn.z"',
    });
    await expect(model.run(ids, { capture: ["embed"] } as never)).rejects.toMatchObject({
      _tag: "InputError",
      field: "run options.capture",
    });
    await expect(
      model.run(ids, {
        interventions: [
          {
            _tag: "scale",
            target: { site: "embed" },
            factor: 0,
            value: { data: new Float32Array(1), shape: [1] },
          } as never,
        ],
      }),
    ).rejects.toMatchObject({ _tag: "InputError", field: "interventions[0].value" });
    await expect(model.patch({ base: [0, 1, 2], source: [0, 1], site: "embed" })).rejects.toMatchObject({
      _tag: "InputError",
      field: "patch positions",
    });
    await expect(model.run("no tokenizer here")).rejects.toMatchObject({
      _tag: "InputError",
      field: "--tokenizer",
    });
  });
});

describe("Promise API: close and asyncDispose", () => {
  it("close releases the sessions after runs in flight, is idempotent, and a later call is ModelClosedError", async () => {
    const model = await open(INDUCTION, { threads: 1 });
    const sessions = await withModel(model, "test", (m) => Effect.succeed(m.sessions));
    const inFlight = model.run(ids);
    const closing = model.close();
    expect(model.closed).toBe(true);
    expect(model.close()).toBe(closing);
    expect((await inFlight).logits.shape).toEqual([1, 8, model.config.vocabSize]);
    expect(sessions.size()).toBeGreaterThan(0);
    await closing;
    expect(sessions.size()).toBe(0);
    const err = await model.runWithCache(ids).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelClosedError);
    expect(err).toMatchObject({ _tag: "ModelClosedError", model: INDUCTION, operation: "runWithCache" });
    await model.close();
  });

  it("await using closes the model when its block ends, also when the block throws", async () => {
    let kept: PatchbayModel | undefined;
    {
      await using model = await open(INDUCTION, { threads: 1 });
      kept = model;
      expect((await model.run([0, 1, 2])).logits.shape[1]).toBe(3);
      expect(model.closed).toBe(false);
    }
    expect(kept.closed).toBe(true);
    const thrown = await (async () => {
      await using model = await open(INDUCTION, { threads: 1 });
      kept = model;
      throw new Error("inside");
    })().catch((e: Error) => e.message);
    expect(thrown).toBe("inside");
    expect(kept.closed).toBe(true);
  });

  it("open rejects with the Effect API's typed error (ModelNotFoundError), fields and all", async () => {
    const err = await open("testdata/no-such-model").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err).toMatchObject({ _tag: "ModelNotFoundError", path: "testdata/no-such-model" });
    const viaEffectErr = await Effect.runPromise(
      Effect.flip(Effect.scoped(openModel("testdata/no-such-model"))),
    );
    expect((err as Error).message).toBe(viaEffectErr.message);
    await expect(open(INDUCTION, { thread: 1 } as never)).rejects.toMatchObject({
      _tag: "InputError",
      field: "open options.thread",
    });
  });
});

describe("Promise API on checkpoints: a Hugging Face fixture (tiny-gpt2), stories260K", () => {
  it("a batch of ragged sequences: logits and sites bit-identical to the Effect API", async () => {
    const path = testdataPath("fixtures", "tiny-gpt2");
    await using model = await open(path, { threads: 1 });
    const batch = [
      [1, 2, 3, 4],
      [5, 6],
    ];
    const r = await model.run(batch, { captures: ["blocks.1.hook_resid_pre"] });
    const e = await viaEffect(path, (m) => forward(m.sessions, m, batch, ["blocks.1.hook_resid_pre"]));
    same(r.logits, e.logits);
    same(r.captures["blocks.1.hook_resid_pre"]!, e.sites.get("blocks.1.hook_resid_pre")!);
    expect(r.lengths).toEqual([4, 2]);
  });

  it.skipIf(!hasSharedModels)(
    "text is encoded with the model's tokenizer (stories260K, ../shared)",
    async () => {
      const path = sharedModelPath("stories260K", "stories260K.bin");
      await using model = await open(path, { threads: 1 });
      const r = await model.run("Once upon a time");
      const e = await viaEffect(path, (m) =>
        forward(m.sessions, m, [m.tokenizer!.encode("Once upon a time")]),
      );
      same(r.logits, e.logits);
    },
  );

  it.skipIf(!hasSharedModels)(
    "patch gives the logits `patchbay patch --json` prints (stories260K, ../shared)",
    async () => {
      const path = sharedModelPath("stories260K", "stories260K.bin");
      const base = "Lily went to the park. She saw a big dog";
      const source = "Tom went to the park. He saw a big cat";
      const site = "blocks.2.resid_post";
      const cli = JSON.parse(
        execFileSync(
          process.execPath,
          [
            "--import",
            "tsx",
            "experiments/src/cli/main.ts",
            "patch",
            "--model",
            path,
            "--base",
            base,
            "--source",
            source,
          ].concat(["--site", site, "--positions=-1,-2", "--threads", "1", "--json"]),
          { encoding: "utf8" },
        ),
      ) as {
        positions: { base: number[]; source: number[] };
        patched: { top: { id: number; logit: number }[] };
        base: { top: { id: number; logit: number }[] };
      };
      await using model = await open(path, { threads: 1 });
      const r = await model.patch({ base, source, site, positions: [-1, -2] });
      expect(r.positions).toEqual(cli.positions);
      const V = model.config.vocabSize;
      const last = (t: HostTensor) => t.data.subarray(t.data.length - V);
      for (const { id, logit } of cli.patched.top) expect(last(r.logits)[id]).toBe(logit);
      for (const { id, logit } of cli.base.top) expect(last(r.base)[id]).toBe(logit);
    },
  );

  it("a model in memory opens without files", async () => {
    const path = testdataPath("fixtures", "tiny-gpt2");
    const loaded = await viaEffect(path, (m) => Effect.succeed({ config: m.config, weights: m.weights }));
    await using model = await open(loaded, { threads: 1 });
    expect(model.source).toBe(loaded.config.name);
    expect(model.tokenizer).toBeNull();
    const e = await viaEffect(path, (m) => forward(m.sessions, m, [[1, 2, 3]]));
    same((await model.run([1, 2, 3])).logits, e.logits);
  });

  it("a bad model in memory is a typed error naming it, never a crash in the graph builder", async () => {
    const path = testdataPath("fixtures", "tiny-gpt2");
    const loaded = await viaEffect(path, (m) => Effect.succeed({ config: m.config, weights: m.weights }));
    const label = `${loaded.config.name} (in memory)`;
    // 4 query heads over 3 key/value heads: no grouping exists
    await expect(open({ ...loaded, config: { ...loaded.config, nKvHeads: 3 } })).rejects.toMatchObject({
      _tag: "ConfigError",
      file: label,
      field: "nKvHeads (canonical)",
    });
    const missing = new Map(loaded.weights);
    missing.delete("unembed.W_U");
    await expect(open({ ...loaded, weights: missing })).rejects.toMatchObject({ _tag: "TensorShapeError" });
    const nan = new Map(loaded.weights);
    const bad = new Float32Array(loaded.weights.get("embed.W_E")!.data);
    bad[5] = Number.NaN;
    nan.set("embed.W_E", { data: bad, shape: loaded.weights.get("embed.W_E")!.shape });
    await expect(open({ ...loaded, weights: nan })).rejects.toMatchObject({ _tag: "WeightFileError" });
  });
});

describe("Promise API: spillWeights", () => {
  it("an in-memory model opened with spillWeights gives bit-identical logits", async () => {
    const { loadModelSync } = await import("@patchbay/core/weights");
    const tiny = loadModelSync(testdataPath("fixtures", "tiny-llama"));
    const seq = [3, 1, 4, 1, 5, 9, 2, 6];
    await using heap = await open({ config: tiny.config, weights: tiny.weights }, { threads: 1 });
    await using spilled = await open(
      { config: tiny.config, weights: tiny.weights },
      { threads: 1, spillWeights: true },
    );
    same((await spilled.run(seq)).logits, (await heap.run(seq)).logits);
    const held = (m: PatchbayModel) => withModel(m, "test", (o) => Effect.succeed(o.weights));
    expect(await held(heap)).toBe(tiny.weights);
    expect(await held(spilled)).not.toBe(tiny.weights); // the spilled, file-backed copy
  });
});
