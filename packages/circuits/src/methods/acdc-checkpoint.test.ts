import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, InputError } from "@patchbay/core/errors";
import { makeSessionCache } from "@patchbay/core/runtime";
import { inductionModel, inductionTask } from "@patchbay/zoo";
import { Cause, Effect, Exit } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AcdcOptions, acdc } from "./acdc.ts";
import { type EdgeSetup, prepareEdges } from "./setup.ts";

const json = (r: unknown) =>
  JSON.stringify(r, (_k, x: unknown) => (ArrayBuffer.isView(x) ? Array.from(x as Float64Array) : x));

/** One session cache and setup for every run: builtin:induction, resample, logit-diff. */
const withSetup = <A, E>(f: (setup: EdgeSetup) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const cache = yield* makeSessionCache("acdc-checkpoint", { threads: 1 });
        const model = inductionModel();
        const setup = yield* prepareEdges(cache, model, {
          ...inductionTask(0, 8),
          ablation: "resample",
          metric: "logit-diff",
        });
        return yield* f(setup);
      }),
    ),
  );

/** Run to the k-th receiver's checkpoint (a real Effect interruption), then resume from the file. */
const interruptedThenResumed = (setup: EdgeSetup, opts: AcdcOptions, k: number, file: string) =>
  Effect.gen(function* () {
    const stopped = yield* Effect.exit(acdc(setup, { ...opts, checkpoint: file, stopAfterReceivers: k }));
    const receiversDone = (JSON.parse(readFileSync(file, "utf8")) as { receiversDone: number }).receiversDone;
    const resumed = yield* acdc(setup, { ...opts, checkpoint: file });
    return { stopped, receiversDone, resumed };
  });

describe("ACDC checkpoints", () => {
  it("an interrupted run resumed from its checkpoint is byte-identical to an uninterrupted one, for every k", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acdc-ckpt-"));
    const cases: { opts: AcdcOptions; label: string }[] = [
      { opts: { tau: 0.1 }, label: "normal" },
      { opts: { tau: 0.05, order: "random", seed: 3, speculate: 4 }, label: "random" },
    ];
    const out = await withSetup((setup) =>
      Effect.gen(function* () {
        const rows = [];
        for (const { opts, label } of cases) {
          const fullFile = join(dir, `${label}-full.json`);
          const whole = yield* acdc(setup, { ...opts, checkpoint: fullFile });
          const plain = yield* acdc(setup, opts);
          const total = (JSON.parse(readFileSync(fullFile, "utf8")) as { receiversDone: number })
            .receiversDone;
          const ks = [...new Set([0, 1, Math.floor(total / 2), total - 1, total])];
          for (const k of ks) {
            const r = yield* interruptedThenResumed(setup, opts, k, join(dir, `${label}-${k}.json`));
            rows.push({
              label,
              k,
              total,
              whole: json(whole),
              plain: json(plain),
              ...r,
              resumedJson: json(r.resumed),
            });
          }
        }
        return rows;
      }),
    );
    for (const r of out) {
      expect(r.whole).toBe(r.plain); //                          checkpointing changes nothing
      expect(r.total).toBeGreaterThan(2);
      if (r.k < r.total) {
        expect(
          Exit.isFailure(r.stopped) && Cause.isInterruptedOnly(r.stopped.cause),
          `${r.label} k=${r.k}`,
        ).toBe(true);
        expect(r.receiversDone).toBe(r.k);
      }
      expect(r.resumedJson, `${r.label} k=${r.k}`).toBe(r.whole);
    }
  }, 120_000);

  it("property: for any k and τ, stop after k receivers + resume = the uninterrupted run (builtin:induction)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acdc-prop-"));
    let n = 0;
    await withSetup((setup) =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 0, max: 12 }),
            fc.constantFrom(0.02, 0.1, 0.5),
            fc.constantFrom<"normal" | "reverse">("normal", "reverse"),
            async (k, tau, order) => {
              const opts = { tau, order };
              const whole = await Effect.runPromise(acdc(setup, opts));
              const r = await Effect.runPromise(
                interruptedThenResumed(setup, opts, k, join(dir, `${n++}.json`)),
              );
              expect(json(r.resumed)).toBe(json(whole));
            },
          ),
          { numRuns: 8, seed: 17 },
        ),
      ),
    );
  }, 120_000);

  it("a corrupted checkpoint, or one from another run, is a ConfigError naming the file and what differs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acdc-bad-"));
    const file = join(dir, "ckpt.json");
    const garbled = join(dir, "garbled.json");
    writeFileSync(garbled, '{"format":"patchbay-acdc-checkpoint/2","next":');
    const wrongShape = join(dir, "shape.json");
    writeFileSync(wrongShape, '{"format":"patchbay-acdc-checkpoint/2","next":"x"}');
    const out = await withSetup((setup) =>
      Effect.gen(function* () {
        yield* Effect.exit(acdc(setup, { tau: 0.1, checkpoint: file, stopAfterReceivers: 1 }));
        const options = yield* Effect.flip(acdc(setup, { tau: 0.2, checkpoint: file }));
        const other = {
          ...setup,
          task: { ...setup.task, clean: setup.task.clean.map((s) => [...s].reverse()) },
        };
        const task = yield* Effect.flip(acdc(other, { tau: 0.1, checkpoint: file }));
        const g = yield* Effect.flip(acdc(setup, { tau: 0.1, checkpoint: garbled }));
        const s = yield* Effect.flip(acdc(setup, { tau: 0.1, checkpoint: wrongShape }));
        const noFile = yield* Effect.flip(acdc(setup, { tau: 0.1, stopAfterReceivers: 1 }));
        // a checkpoint of the previous, full-graph ACDC (format /1): same hashes, other Δ bits
        const old = join(dir, "old.json");
        writeFileSync(
          old,
          readFileSync(file, "utf8").replace("patchbay-acdc-checkpoint/2", "patchbay-acdc-checkpoint/1"),
        );
        const oldFormat = yield* Effect.flip(acdc(setup, { tau: 0.1, checkpoint: old }));
        return { errs: { options, task, g, s, oldFormat }, noFile, old };
      }),
    );
    expect(out.noFile).toBeInstanceOf(InputError); // stopAfterReceivers needs a checkpoint to stop at
    expect((out.noFile as InputError).field).toBe("stopAfterReceivers");
    const errs = out.errs;
    for (const e of Object.values(errs)) expect(e).toBeInstanceOf(ConfigError);
    const c = errs as unknown as Record<string, ConfigError>;
    expect(c.options!.file).toBe(file);
    expect(c.options!.field).toBe("hashes.options");
    expect(c.task!.field).toBe("hashes.task");
    expect(c.g!.file).toBe(garbled);
    expect(c.s!.file).toBe(wrongShape);
    expect(c.s!.message).toContain("next");
    expect(c.oldFormat).toMatchObject({
      file: out.old,
      field: "format",
      found: "patchbay-acdc-checkpoint/1",
    });
    expect(c.oldFormat!.expected).toContain("patchbay-acdc-checkpoint/2");
    expect(readFileSync(out.old, "utf8")).toContain("patchbay-acdc-checkpoint/1"); // refused, left as it was
  }, 60_000);
});
