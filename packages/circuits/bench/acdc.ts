/**
 * ACDC over every edge of a model (run.ts: `BENCH_ONLY=gpt2 BENCH_ENTRIES=acdc`, the GPT-2-small-shaped model with
 * random weights, 4 examples × 32 tokens, KL, τ = 0.01). Reports wall time, forward passes (masks
 * evaluated), session runs, the serial algorithm's tests, edges kept and peak RSS.
 *
 * Resumable: ACDC checkpoints after every receiver (bench/out/acdc-checkpoint.json), and a
 * segments file beside it records how long each process has run so far (rewritten every 10 s
 * and at the end), so a killed bench rerun with the same command continues where it stopped and
 * the wall time it reports is the sum over the segments, lost work included. Both files are
 * removed once the run completes, so the next run starts afresh.
 *
 * The setup's sessions (z′, the KL reference) are released before ACDC starts: ACDC needs only
 * their results, and at GPT-2 scale each session holds a copy of the weights.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Model } from "@patchbay/core/model";
import { makeSessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { peakRssMb } from "../../core/bench/timing.ts";
import { acdcWith } from "../src/methods/acdc.ts";
import { downstreamRows, fullGraphRows } from "../src/methods/acdc-rows.ts";
import { type EdgeTask, prepareEdges } from "../src/index.ts";

export interface AcdcBench {
  /** seconds, summed over every segment (process) the run took */
  readonly wall: number;
  /** seconds of each segment, the last one this process */
  readonly segments: readonly number[];
  readonly forwardPasses: number;
  readonly runs: number;
  readonly serialTests: number;
  readonly kept: number;
  readonly edges: number;
  /** peak RSS of this process, MB */
  readonly peakRssMb: number;
}

export interface AcdcBenchOptions {
  readonly tau?: number;
  /** where the checkpoint and segments files live (default bench/out/) */
  readonly dir?: string;
  /** downstream-only rows (what acdc runs) or the full edge-masked graph, for comparisons */
  readonly rows?: "downstream" | "full-graph";
}

/** ACDC over all edges of `model` on `task`, resumable across processes (see above). */
export const benchAcdc = (model: Model, task: EdgeTask, opts: AcdcBenchOptions = {}) =>
  Effect.gen(function* () {
    const dir = opts.dir ?? new URL("./out/", import.meta.url).pathname;
    const rowsKind = opts.rows ?? "downstream";
    mkdirSync(dir, { recursive: true });
    const checkpoint = `${dir}/acdc-checkpoint-${rowsKind}.json`;
    const segmentsFile = `${dir}/acdc-segments-${rowsKind}.json`;
    const earlier: number[] =
      existsSync(segmentsFile) && existsSync(checkpoint)
        ? (JSON.parse(readFileSync(segmentsFile, "utf8")) as { segments: number[] }).segments
        : [];
    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;
    const save = () => writeFileSync(segmentsFile, JSON.stringify({ segments: [...earlier, elapsed()] }));
    save();
    const timer = setInterval(save, 10_000);
    const label = model.config.name;
    // prepare in a scope of its own: its sessions are released before ACDC compiles its graphs
    const setup = yield* Effect.scoped(
      Effect.gen(function* () {
        const s = yield* prepareEdges(yield* makeSessionCache(`${label} (ACDC setup)`), model, task);
        yield* s.ablated; //                                            z′, computed (and kept) now
        return s;
      }),
    );
    const tau = opts.tau ?? 0.01;
    const r = yield* (
      rowsKind === "downstream"
        ? Effect.scoped(
            Effect.flatMap(downstreamRows(setup), (rows) => acdcWith(setup, { tau, checkpoint }, rows)),
          )
        : acdcWith(setup, { tau, checkpoint }, fullGraphRows(setup))
    ).pipe(Effect.ensuring(Effect.sync(() => clearInterval(timer))));
    const segments = [...earlier, elapsed()];
    rmSync(checkpoint, { force: true });
    rmSync(segmentsFile, { force: true });
    return {
      wall: segments.reduce((a, b) => a + b, 0),
      segments,
      forwardPasses: r.forwardPasses,
      runs: r.runs,
      serialTests: r.serialTests,
      kept: r.inGraph.reduce((a, b) => a + b, 0),
      edges: setup.layout.edges.length,
      peakRssMb: peakRssMb(),
    } satisfies AcdcBench;
  });

/** The bench's row for run.ts's table. */
export const acdcRow = (label: string, r: AcdcBench): { name: string; value: string; note: string } => ({
  name: `${label}: ACDC over all ${r.edges} edges (KL, τ = 0.01, 4 examples × 32 tokens)`,
  value: `${r.wall.toFixed(1)} s`,
  note: `${r.forwardPasses} forward passes (masks) in ${r.runs} runs; serial ACDC: ${r.serialTests} tests; kept ${r.kept} edges; ${r.segments.length} segment(s) (${r.segments.map((s) => s.toFixed(0)).join(" + ")} s); peak RSS ${r.peakRssMb.toFixed(0)} MB`,
});
