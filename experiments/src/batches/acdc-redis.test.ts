import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acdc } from "@patchbay/circuits";
import { edgeLayout } from "@patchbay/core/edges";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testdataPath } from "../../../packages/core/src/testing/testdata.ts";
import { failureOf, redisBin, redisWorld } from "../distributed/test-support.ts";
import { openCircuitSetup } from "../kinds/circuit/cell.ts";
import { runExperiment } from "../run/experiment.ts";
import { cellPath } from "../run/store.ts";
import { loadExperiment } from "../spec/load.ts";
import { distributedAcdc } from "./acdc.ts";
import { acdcJson, acdcSpecOf } from "./test-support.ts";
import { queueRows } from "./queue.ts";

/**
 * A distributed ACDC on a real redis-server with `patchbay worker` child processes: the loop runs
 * here, each speculative batch (in `split` parts) is evaluated by the workers, and the result is
 * byte-identical to the local ACDC (inGraph, Δ bits, counts, the result as JSON), on
 * builtin:induction and the tiny-gpt2 fixture. A worker SIGKILLed in the middle of a batch loses
 * nothing: BullMQ hands its job to the other worker and the result is still the same bytes. Bad
 * input is typed.
 */
const world = redisWorld("acdc-batches");
const { dir, start } = world;
const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const count = (text: string, re: RegExp) => [...text.matchAll(re)].length;
const specOf = acdcSpecOf;

describe.skipIf(redisBin === "")("ACDC's speculative batches on Redis (BullMQ)", () => {
  beforeAll(world.setup, 15_000);
  afterAll(world.teardown, 30_000);

  const models = [
    ["builtin:induction", "builtin:induction", 0.05],
    ["tiny-gpt2 fixture", testdataPath("fixtures", "tiny-gpt2"), 0.01],
  ] as const;

  it.each(models)(
    "on %s: distributed == local, byte for byte, split 1 and 2 (and split 1 == circuits' acdc)",
    async (_, model, tau) => {
      const ws = await world.workers(2);
      try {
        for (const split of [1, 2]) {
          const input = { spec: specOf(model, { tau, speculate: 4, split }), baseDir: dir };
          const here = await Effect.runPromise(distributedAcdc(input, {}));
          const there = await Effect.runPromise(
            distributedAcdc(input, { redis: { redis: world.url(), timeoutMs: 60_000 } }),
          );
          const kept = here.unpruned.reduce((a, b) => a + b, 0);
          expect(kept, "ACDC keeps some edges and removes others").toBeGreaterThan(0);
          expect(kept).toBeLessThan(here.unpruned.length);
          expect(bits(there.deltas).equals(bits(here.deltas)), `split ${split}`).toBe(true);
          expect(Buffer.from(there.inGraph).equals(Buffer.from(here.inGraph))).toBe(true);
          expect(acdcJson(there), `split ${split}`).toBe(acdcJson(here));
          if (split === 1) {
            // the local path is circuits' acdc on the same setup
            const plain = await Effect.runPromise(
              Effect.scoped(
                Effect.flatMap(openCircuitSetup(input), ({ setup }) => acdc(setup, input.spec.acdc)),
              ),
            );
            expect(acdcJson(plain)).toBe(acdcJson(here));
          }
        }
      } finally {
        await world.stop(ws);
      }
      const logs = ws.map((w) => w.out());
      // every batch was evaluated on the workers, and with split 2 both took part
      for (const l of logs) expect(count(l, /^done batch /gm), l).toBeGreaterThan(0);
      expect(count(logs.join("\n"), /^failed /gm)).toBe(0);
    },
    180_000,
  );

  it("an experiment file with { _tag: acdc, split: 2 } run with --redis: the loop in the run, the parts on both workers, the cell byte-identical to a local run", async () => {
    const file = join(dir, "acdc.yaml");
    writeFileSync(
      file,
      [
        "name: acdc-split",
        "model: builtin:induction",
        "task: { n: 4 }",
        "method: { _tag: acdc, tau: 0.05, split: 2 }",
        "evaluation: { spearmanSample: 0 }",
        "",
      ].join("\n"),
    );
    const loaded = await Effect.runPromise(loadExperiment(file));
    const local = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "cell-local") }));
    const cellId = local.cells[0]!.cellId;
    const ws = await world.workers(2);
    try {
      const shared = join(dir, "cell-shared");
      const run = start([
        "run",
        file,
        "--results",
        shared,
        "--redis",
        world.url(),
        "--timeout",
        "80",
        "--json",
      ]);
      await new Promise<void>((resolve) => run.child.once("exit", () => resolve()));
      expect(run.child.exitCode, run.out()).toBe(0);
      expect(
        readFileSync(cellPath(shared, cellId)).equals(
          readFileSync(cellPath(join(dir, "cell-local"), cellId)),
        ),
      ).toBe(true);
    } finally {
      await world.stop(ws);
    }
    for (const w of ws) expect(count(w.out(), /^done batch /gm), w.out()).toBeGreaterThan(0);
    // the cell itself was not a queue job: the run coordinated it
    for (const w of ws) expect(w.out()).not.toMatch(new RegExp(`^start ${cellId}`, "m"));
  }, 180_000);

  it("a worker SIGKILLed in the middle of a batch loses nothing: its job is retried, the result is the same bytes", async () => {
    const model = testdataPath("fixtures", "tiny-gpt2");
    const input = { spec: specOf(model, { tau: 0.01, speculate: 4, split: 2 }, 8), baseDir: dir };
    const local = await Effect.runPromise(distributedAcdc(input, {}));
    const ws = await world.workers(2, ["--lock-ms", "1500", "--stalled-ms", "500"]);
    // the first worker to start a batch at a new layer (one it has not compiled yet) after
    // finishing one is killed at once, mid-batch
    let victim: { worker: number; job: string } | null = null;
    ws.forEach((w, i) => {
      w.child.stderr!.on("data", () => {
        if (victim !== null) return;
        const starts = [...w.out().matchAll(/^start batch ([0-9a-f]{64}) \(part \d+, layer (\d+)/gm)];
        const done = count(w.out(), /^done batch /gm);
        const last = starts.at(-1);
        if (done >= 1 && starts.length >= 2 && last![2] !== starts.at(-2)![2]) {
          victim = { worker: i, job: last![1]! };
          w.child.kill("SIGKILL");
        }
      });
    });
    try {
      const there = await Effect.runPromise(
        distributedAcdc(input, { redis: { redis: world.url(), timeoutMs: 90_000 } }),
      );
      expect(victim, "a worker was killed mid-batch").not.toBeNull();
      const v = victim as unknown as { worker: number; job: string };
      expect(ws[v.worker]!.child.signalCode).toBe("SIGKILL");
      expect(ws[v.worker]!.out()).not.toMatch(new RegExp(`^done batch ${v.job}`, "m"));
      expect(ws[1 - v.worker]!.out()).toMatch(new RegExp(`^done batch ${v.job}`, "m"));
      expect(bits(there.deltas).equals(bits(local.deltas))).toBe(true);
      expect(acdcJson(there)).toBe(acdcJson(local));
    } finally {
      await world.stop(ws);
    }
  }, 180_000);

  it("bad input is typed: a bad split before anything is queued; a fractional mask; a batch for another setup fails on the worker, not retried", async () => {
    const input = { spec: specOf("builtin:induction", { tau: 0.1, split: 0 }, 2), baseDir: dir };
    const zero = await Effect.runPromiseExit(
      distributedAcdc(input, { redis: { redis: world.url(), timeoutMs: 30_000 } }),
    );
    expect(failureOf(zero)).toMatchObject({ _tag: "InputError", field: "split" });
    const half = await Effect.runPromiseExit(
      distributedAcdc({ ...input, spec: { ...input.spec, acdc: { tau: 0.1, split: 1.5 } } }, {}),
    );
    expect(failureOf(half)).toMatchObject({ _tag: "InputError", field: "split" });
    const layout = edgeLayout((await import("@patchbay/zoo")).inductionModel().config);
    const entries = layout.sources.length * layout.destinations.length;
    const ws = await world.workers(1);
    try {
      const evaluate = (setupId: string, mask: Float32Array) =>
        Effect.runPromiseExit(
          Effect.scoped(
            Effect.flatMap(
              queueRows(
                { redis: world.url(), timeoutMs: 30_000 },
                { spec: input.spec, baseDir: dir, setupId, entries },
                2,
                1,
              ),
              (rows) => rows.evaluate(2, [mask]),
            ),
          ),
        );
      const frac = new Float32Array(entries).fill(1);
      frac[3] = 0.5;
      expect(failureOf(await evaluate("0".repeat(64), frac))).toMatchObject({
        _tag: "InputError",
        field: "masks[0][3]",
      });
      const other = failureOf(await evaluate("0".repeat(64), new Float32Array(entries).fill(1)));
      expect(other).toMatchObject({
        _tag: "CellFailedError",
        reason: "failed",
        cause: { _tag: "InputError" },
      });
      expect(JSON.stringify(other)).toMatch(/setup id/);
    } finally {
      await world.stop(ws);
    }
    expect(count(ws[0]!.out(), /^start batch /gm), "not retried").toBe(1);
  }, 90_000);
});
