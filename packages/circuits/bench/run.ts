/**
 * `pnpm bench:circuits` (also run by `pnpm bench`): circuit discovery on the GPT-2-small-shaped
 * model (random weights) and on stories260K. Each entry below runs in its own child process
 * (bench/child.ts), which records its peak RSS; every ratio is measured side by side inside one
 * child, against a plain forward timed interleaved with it:
 *   - forward: build + compile + first forward, and one forward 8 × 128 (the unit, alone);
 *   - eap: the first edge graph build, compile and EAP (no compile cache) (split into the setup, the fused session's
 *     build + compile and a warm run; with resample ablation the corrupted forward for z′ runs
 *     inside the fused graph), then EAP of all edges (the corrupted forward + one
 *     forward-and-backward) against one plain forward (goal ≤ 3.5×);
 *   - compile-store, compile-load: the same first EAP with the on-disk compile cache, in a
 *     process that optimizes and stores the graphs and then one that loads them (issue 17 §6);
 *   - eap-ig: EAP-IG over inputs with 5 steps against one forward pass, 5 × (forward + backward)
 *     and 5 × EAP's fused pass (bench/eap-ig.ts; goal ≤ 1.3 × K × (forward + backward));
 *   - exact: exact edge patching, edges per second downstream-only against the full edge-masked
 *     graph, and against its per-edge cost model (bench/exact.ts);
 *   - acdc: ACDC over every edge (4 × 32, KL, τ = 0.01; bench/acdc.ts, resumable): wall time,
 *     masks, runs and peak RSS.
 * BENCH_ONLY=gpt2 or BENCH_ONLY=stories runs one model, BENCH_ENTRIES=eap,exact only those entries;
 * BENCH_WEIGHTS=heap holds GPT-2's weights on the JS heap instead of spilled (bench/models.ts).
 * Writes bench/out/latest.json and prints a markdown table. A child is
 * `run.ts --entry NAME --model NAME`.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeSessionCache } from "@patchbay/core/runtime";
import { plan, runPlan } from "@patchbay/core/engine";
import { Effect } from "effect";
import { peakRssMb, timeSideBySide } from "../../core/bench/timing.ts";
import { eap, eapIgInputs, prepareEdges } from "../src/index.ts";
import { childArgs, childRecorder, hugepagesNote, type Record, type Row, runChild } from "./child.ts";
import { acdcRow, benchAcdc } from "./acdc.ts";
import { benchEapIg, igRows } from "./eap-ig.ts";
import { benchExact } from "./exact.ts";
import { type BenchModel, type BenchModelName, benchModels, openBenchModel, sec, taskFor } from "./models.ts";

/** Bytes of the files under a folder. */
const folderBytes = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce(
    (n, e) => n + (e.isDirectory() ? folderBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size),
    0,
  );

type Entry = (m: BenchModel, record: Record) => Effect.Effect<void, unknown, import("effect").Scope.Scope>;

const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e);
const now = () => performance.now() / 1000;

/** One plain forward on the task's clean examples (metric only): every ratio's unit. */
const plainForward = (
  m: BenchModel,
  cache: Effect.Effect.Success<ReturnType<typeof makeSessionCache>>,
  N: number,
  P: number,
) => {
  const task = taskFor(m.model.config, N, P);
  const plain = plan({ metric: { kind: "logit-diff" }, logits: false });
  const binding = { positions: task.positions, answers: task.answers!, wrong: task.wrong! };
  return () => run(runPlan(cache, m.model, plain, task.clean, { metric: binding }));
};

const forwardEntry: Entry = (m, record) =>
  Effect.gen(function* () {
    const cache = yield* makeSessionCache(m.label);
    const forward = plainForward(m, cache, 8, 128);
    const t0 = now();
    yield* Effect.promise(forward);
    record(`${m.label}: build + compile + first forward 8×128 (metric only)`, sec(now() - t0));
    const t = yield* Effect.promise(() => timeSideBySide({ forward }, 3, 4));
    record(`${m.label}: one forward 8×128 (metric only), alone`, sec(t.forward));
  });

/**
 * The first edge graph build, compile and EAP at 8 × 128 in this process, recorded as `what` with
 * its parts: the setup, and the fused graph's build + compile as the first run minus a warm one.
 */
const firstEap = (
  m: BenchModel,
  cache: Effect.Effect.Success<ReturnType<typeof makeSessionCache>>,
  record: Record,
  what: string,
) =>
  Effect.gen(function* () {
    const task = taskFor(m.model.config, 8, 128);
    const t0 = now();
    const setup = yield* prepareEdges(cache, m.model, task);
    const t1 = now();
    yield* eap(setup);
    const t2 = now();
    yield* eap(setup);
    const t3 = now();
    record(
      `${m.label}: ${what}`,
      sec(t2 - t0),
      `setup ${sec(t1 - t0)} (z′ from the corrupted forward inside the fused graph); fused graph build + compile ≈ ${sec(t2 - t1 - (t3 - t2))} (first fused run − a warm one, ${sec(t3 - t2)})`,
    );
    return { setup, task };
  });

const eapEntry: Entry = (m, record) =>
  Effect.gen(function* () {
    const cache = yield* makeSessionCache(m.label, { compileCache: null });
    const { setup, task } = yield* firstEap(m, cache, record, "edge graph build + compile + first EAP");
    record(
      `${m.label}: edges`,
      `${setup.layout.edges.length}`,
      `${setup.layout.sources.length} sources × ${setup.layout.destinations.length} destinations`,
    );
    record(
      `${m.label}: peak RSS, EAP 8×128 alone`,
      `${peakRssMb().toFixed(0)} MB`,
      "before the plain forward's session opens for the ratios",
    );
    const forward = plainForward(m, cache, 8, 128);
    const t = yield* Effect.promise(() =>
      timeSideBySide(
        {
          forward,
          eapTotal: () => run(Effect.flatMap(prepareEdges(cache, m.model, task), eap)),
          eapBackward: () => run(eap(setup)),
        },
        3,
        4,
      ),
    );
    record(`${m.label}: one forward 8×128 (metric only), EAP's run`, sec(t.forward));
    record(
      `${m.label}: EAP, all edges (corrupted forward + forward/backward) / forward`,
      `${(t.eapTotal / t.forward).toFixed(2)}×`,
      `(${sec(t.eapTotal)}; goal ≤ 3.5×)`,
    );
    record(
      `${m.label}: EAP forward/backward alone / forward`,
      `${(t.eapBackward / t.forward).toFixed(2)}×`,
      `(${sec(t.eapBackward)})`,
    );
  });

const eapIgEntry: Entry = (m, record) =>
  Effect.gen(function* () {
    const cache = yield* makeSessionCache(m.label);
    const setup = yield* prepareEdges(cache, m.model, taskFor(m.model.config, 8, 128));
    yield* eapIgInputs(setup, { steps: 5 }); // sessions compiled before the timing
    // against one forward, K × (forward + backward) and K × EAP's fused pass, interleaved (bench/eap-ig.ts)
    for (const r of igRows(m.label, yield* benchEapIg(setup, 5), sec)) record(r.name, r.value, r.note);
  });

const exactEntry: Entry = (m, record) =>
  Effect.gen(function* () {
    const cache = yield* makeSessionCache(m.label);
    // Exact patching on a smaller batch (2 examples × 32 tokens), side by side: downstream-only
    // rows (256 edges spread over the layout) against the full edge-masked graph (16 edges), and
    // one forward on the same examples, the unit of the per-edge cost model (bench/exact.ts).
    const small = yield* prepareEdges(cache, m.model, taskFor(m.model.config, 2, 32));
    const x = yield* benchExact(small, 256, 16);
    record(
      `${m.label}: exact patching, edges/s (2 examples × 32 tokens), downstream-only`,
      `${x.downstream.toFixed(1)}`,
      `full edge-masked graph: ${x.fullGraph.toFixed(1)} edges/s (downstream-only is ${(x.downstream / x.fullGraph).toFixed(2)}× faster); goal ≥ 20`,
    );
    record(
      `${m.label}: exact patching cost model, per edge / forward (2 × 32)`,
      `${x.modelSample.toFixed(3)}`,
      `all edges: ${x.modelAll.toFixed(3)}; forward ${sec(x.forward)} ⇒ predicted ${x.predicted.toFixed(1)} edges/s, measured ${((100 * x.downstream) / x.predicted).toFixed(0)}% of it`,
    );
    record(
      `${m.label}: peak RSS, exact patching 2×32 downstream-only`,
      `${x.peakRssDownstream.toFixed(0)} MB`,
      "before the full edge-masked graph's and the forward's sessions open for the ratios",
    );
  });

const acdcEntry: Entry = (m, record) =>
  Effect.gen(function* () {
    // resumable over processes (bench/acdc.ts): wall time summed over segments, peak RSS of this one
    const r = acdcRow(
      m.label,
      yield* benchAcdc(m.model, { ...taskFor(m.model.config, 4, 32), metric: "kl" }),
    );
    record(r.name, r.value, r.note);
  });

/** The compile cache the compile-store and compile-load children share (emptied before the first). */
const COMPILED = fileURLToPath(new URL("./out/compiled/", import.meta.url));

/**
 * The first EAP with the on-disk compile cache (runtime/compile-cache.ts), in two fresh processes:
 * the first optimizes and stores the graphs, the second loads them (issue 17 §6).
 */
const compiledEntry =
  (stage: "stores" | "loads"): Entry =>
  (m, record) =>
    Effect.gen(function* () {
      const cache = yield* makeSessionCache(m.label, { compileCache: COMPILED });
      yield* firstEap(m, cache, record, `edge graph build + compile + first EAP, compile cache ${stage} it`);
    });

/** Every entry a child can run, by name. */
const entries: { readonly [name: string]: Entry } = {
  forward: forwardEntry,
  eap: eapEntry,
  "eap-ig": eapIgEntry,
  exact: exactEntry,
  acdc: acdcEntry,
  "compile-store": compiledEntry("stores"),
  "compile-load": compiledEntry("loads"),
};

/** Which entries run on which model (ACDC over all 32,491 GPT-2 edges alone: BENCH_ONLY=gpt2 BENCH_ENTRIES=acdc). */
const plans: { readonly [m in BenchModelName]: readonly string[] } = {
  gpt2: ["forward", "eap", "compile-store", "compile-load", "eap-ig", "exact", "acdc"],
  stories: ["forward", "eap", "compile-store", "compile-load", "eap-ig", "exact", "acdc"],
};

const child = childArgs(process.argv);
if (child !== null) {
  const entry = entries[child.entry];
  if (entry === undefined || !(child.model in benchModels))
    throw new Error(`no bench entry ${child.entry} for model ${child.model}`);
  const { record, finish } = childRecorder();
  await Effect.runPromise(
    Effect.scoped(Effect.flatMap(openBenchModel(child.model as BenchModelName), (m) => entry(m, record))),
  );
  finish();
} else {
  const only = process.env.BENCH_ONLY;
  const picked = process.env.BENCH_ENTRIES?.split(","); // e.g. BENCH_ENTRIES=eap,exact
  const rows: Row[] = [];
  const record = (name: string, value: string, note = "") => {
    rows.push({ name, value, note });
    console.log(`${name}: ${value} ${note}`);
  };
  let failed = false;
  for (const name of Object.keys(plans) as BenchModelName[]) {
    if (only !== undefined && only !== name) continue;
    const { label, available } = benchModels[name];
    if (!available()) {
      console.warn(`../shared/models is absent: ${label} circuit benchmarks skipped`);
      continue;
    }
    for (const entry of plans[name]) {
      if (picked !== undefined && !picked.includes(entry)) continue;
      if (entry === "compile-store") rmSync(COMPILED, { recursive: true, force: true });
      try {
        const r = await runChild(new URL(import.meta.url), entry, name);
        rows.push(...r.rows);
        record(`${label}: peak RSS, ${entry} (own process)`, `${r.peakRssMb.toFixed(0)} MB`);
        record(`${label}: huge pages, ${entry}`, hugepagesNote(r.hugepages));
        if (entry === "compile-load") {
          record(`${label}: compile cache on disk`, `${(folderBytes(COMPILED) / 1e6).toFixed(0)} MB`);
          rmSync(COMPILED, { recursive: true, force: true });
        }
      } catch (e) {
        failed = true;
        record(`${label}: ${entry}`, "failed", String(e));
      }
    }
  }
  record("peak RSS of the parent process", `${peakRssMb().toFixed(0)} MB`, "the entries ran in children");
  mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
  writeFileSync(new URL("./out/latest.json", import.meta.url), JSON.stringify(rows, null, 1));
  console.log("\n| measure | value | note |\n|---|---|---|");
  for (const r of rows) console.log(`| ${r.name} | ${r.value} | ${r.note} |`);
  if (failed) process.exitCode = 1;
}
