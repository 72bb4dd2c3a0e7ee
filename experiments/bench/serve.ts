/**
 * `pnpm bench:serve` (part of `pnpm bench`): the explorer's time from a click to the updated
 * metric, in server mode, on builtin:induction (81 edges, 16 examples) and on the
 * GPT-2-small-shaped model (random weights, 32,491 edges, N × 32 tokens; BENCH_SERVE_N, default
 * 4). For each: an EAP cell is computed into a fresh store (in a child process, so this process's
 * peak RSS is the server's), `patchbay serve`'s server is started on it, and clicks go to edges
 * into three depths: the logits, the middle layer, layer 0 (a click runs the edge-masked model
 * from the clicked edge's layer on, so the depth sets its cost). Per depth, its 4 strongest edges
 * are toggled out and back in (8 clicks):
 *   - api:     POST /evaluate round trips (the server's whole work per click);
 *   - browser: in headless Chromium (when installed), a click on an edge's box until the page
 *              shows the new metric (fetch, run, render).
 * The first request opens the cell (compiles, measures the full model and the empty circuit) and
 * is reported apart, as is each depth's first click (which compiles the graph from that layer
 * when no click went there yet); median and p90 are over the other clicks. Prints a table and the
 * peak RSS; figures go to BENCHMARKS.md by hand. BENCH_SERVE_THREADS=N serves with `--threads N`
 * (default: the cells' own `runtime.threads`, 1).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { gpt2SmallConfig, randomWeights } from "@patchbay/core/model";
import { saveTransformerLensFolder, writeTaskFileSync } from "@patchbay/zoo";
import { Effect, Exit, Scope } from "effect";
import { chromium } from "playwright-core";
import { peakRssMb } from "../../packages/core/bench/timing.ts";
import { CHROMIUM_ARGS, findChromium } from "../src/report/testing/chromium.ts";
import { loadExperiment, runExperiment } from "../src/index.ts";
import { TOKEN_HEADER } from "../src/serve/guard.ts";
import { serve } from "../src/serve/server.ts";

/** Edges per depth, each toggled out and back in. */
const PER_DEPTH = 4;
const dir = mkdtempSync(join(tmpdir(), "patchbay-bench-serve-"));
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const rows: string[][] = [];
const afterClicks: number[] = []; // RSS (MB) right after each model's API and browser clicks, its sessions still open

const experimentFor = (label: string, lines: string[]) => {
  const file = join(dir, `${label}.yaml`);
  writeFileSync(
    file,
    [
      ...lines,
      "method: { _tag: eap }",
      "selection: { _tag: top-n, n: 40 }",
      "evaluation: { spearmanSample: 0 }",
      "outputs: { results: store }",
      "",
    ].join("\n"),
  );
  return file;
};

/** A GPT-2-small-shaped folder (random weights, a word-level vocabulary) and an N × 32 task file. */
const gpt2Files = (N: number) => {
  const c = gpt2SmallConfig;
  saveTransformerLensFolder(
    join(dir, "gpt2"),
    { config: c, weights: randomWeights(c, 0) },
    Array.from({ length: c.vocabSize }, (_, i) => (i === 0 ? "<bos>" : i === 1 ? "<unk>" : `w${i}`)),
  );
  const seq = (k: number) => Array.from({ length: 32 }, (_, p) => (k * 131 + p * 17 + 3) % c.vocabSize);
  const clean = Array.from({ length: N }, (_, b) => seq(2 * b));
  writeTaskFileSync(join(dir, "gpt2-task.jsonl"), {
    clean,
    corrupted: Array.from({ length: N }, (_, b) => seq(2 * b + 1)),
    positions: clean.map(() => [31]),
    answers: clean.map((_, b) => [(b + 1) % c.vocabSize]),
    wrong: clean.map((_, b) => [(b + 2) % c.vocabSize]),
  });
  return [
    "name: serve-gpt2",
    "model: ./gpt2",
    "task: { file: ./gpt2-task.jsonl }",
    "ablation: resample",
    "metric: logit-diff",
  ];
};

/** The layer of an edge's destination ("a6.h3<q>", "m6", "a6" → 6; "logits" → nLayers). */
const destLayer = (name: string, nLayers: number) => {
  const m = /->[am](\d+)/.exec(name);
  return m === null ? nLayers : Number(m[1]);
};

const bench = async (label: string, file: string, nLayers: number) => {
  const results = join(dir, `store-${label.replace(/\W+/g, "-")}`);
  // discovery in a child: this process then holds only the server
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, process.argv[1]!, "discover", file, results],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  if (child.status !== 0) throw new Error(`discovery child exited ${child.status}`);
  const cellId = child.stdout.toString().trim().split("\n").at(-1)!;
  const scope = await Effect.runPromise(Scope.make());
  try {
    const threads = process.env.BENCH_SERVE_THREADS;
    const s = await Effect.runPromise(
      Scope.extend(serve({ results, ...(threads ? { threads: Number(threads) } : {}) }), scope),
    );
    const base = `http://127.0.0.1:${s.port}`;
    const cell = (await (
      await fetch(`${base}/api/cells/${cellId}`, { headers: { [TOKEN_HEADER]: s.token } })
    ).json()) as {
      edges: { name: string; score: number | null; inGraph: boolean }[];
    };
    const E = cell.edges.length;
    const strongest = cell.edges
      .map((_, i) => i)
      .sort((a, b) => Math.abs(cell.edges[b]!.score ?? 0) - Math.abs(cell.edges[a]!.score ?? 0));
    const depths = [
      { name: "logits", layer: nLayers },
      { name: `layer ${Math.floor(nLayers / 2)}`, layer: Math.floor(nLayers / 2) },
      { name: "layer 0", layer: 0 },
    ].map((x) => ({
      ...x,
      edges: strongest.filter((i) => destLayer(cell.edges[i]!.name, nLayers) === x.layer).slice(0, PER_DEPTH),
    }));
    const evaluate = async (inGraph: Uint8Array) => {
      const t0 = performance.now();
      const r = await fetch(`${base}/api/cells/${cellId}/evaluate`, {
        method: "POST",
        headers: { [TOKEN_HEADER]: s.token, "content-type": "application/json" },
        body: JSON.stringify({ inGraph: Array.from(inGraph).join("") }),
      });
      if (!r.ok) throw new Error(`evaluate: ${r.status} ${await r.text()}`);
      const body = (await r.json()) as { fromLayer: number };
      return { ms: performance.now() - t0, fromLayer: body.fromLayer };
    };
    const circuit = Uint8Array.from(cell.edges, (e) => (e.inGraph ? 1 : 0));
    const first = await evaluate(circuit);
    rows.push([label, String(E), "api", "opens the cell", `${first.ms.toFixed(0)} ms`, "", "", ""]);
    /** Per depth: its first click, then median and p90 over the rest; the same over every depth. */
    const report = (path: string, times: { depth: string; ms: number[] }[]) => {
      const warm: number[] = [];
      for (const t of times) {
        warm.push(...t.ms.slice(1));
        rows.push([
          label,
          String(E),
          path,
          t.depth,
          `${t.ms[0]!.toFixed(0)} ms`,
          `${quantile(t.ms.slice(1), 0.5).toFixed(0)} ms`,
          `${quantile(t.ms.slice(1), 0.9).toFixed(0)} ms`,
          String(t.ms.length - 1),
        ]);
      }
      rows.push([
        label,
        String(E),
        path,
        "**all three**",
        "",
        `**${quantile(warm, 0.5).toFixed(0)} ms**`,
        `**${quantile(warm, 0.9).toFixed(0)} ms**`,
        String(warm.length),
      ]);
    };
    const api: { depth: string; ms: number[] }[] = [];
    for (const depth of depths) {
      const ms: number[] = [];
      for (const e of depth.edges)
        for (let k = 0; k < 2; k++) {
          circuit[e] = 1 - circuit[e]!;
          const r = await evaluate(circuit);
          if (r.fromLayer !== depth.layer)
            throw new Error(`${cell.edges[e]!.name}: ran from layer ${r.fromLayer}, not ${depth.layer}`);
          ms.push(r.ms);
        }
      api.push({ depth: depth.name, ms });
    }
    report("api", api);
    const exe = findChromium();
    if (exe === null) {
      rows.push([label, String(E), "browser", "skipped: no chromium", "", "", "", ""]);
      return;
    }
    const browser = await chromium.launch({ executablePath: exe, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/cell/${cellId}?token=${s.token}`);
      const status = page.locator("#status");
      const done = (n: number) =>
        page.locator(`#status[data-evaluations="${n}"]`).waitFor({ timeout: 120_000 });
      await done(1);
      let n = 1;
      const clicks: { depth: string; ms: number[] }[] = [];
      for (const depth of depths) {
        const ms: number[] = [];
        for (const e of depth.edges) {
          await page.locator("#filter").fill(cell.edges[e]!.name); // the list shows the top 300 unless filtered
          for (let k = 0; k < 2; k++) {
            const box = page.locator(`input[data-edge="${cell.edges[e]!.name}"]`);
            const t0 = performance.now();
            await box.click();
            await done(++n);
            ms.push(performance.now() - t0);
          }
        }
        clicks.push({ depth: depth.name, ms });
      }
      if ((await status.textContent()) !== "ready")
        throw new Error(`explorer: ${await status.textContent()}`);
      report("browser", clicks);
    } finally {
      await browser.close();
    }
  } finally {
    afterClicks.push(process.memoryUsage().rss / 2 ** 20);
    await Effect.runPromise(Scope.close(scope, Exit.void));
  }
};

if (process.argv[2] === "discover") {
  const [, , , file, results] = process.argv;
  const loaded = await Effect.runPromise(loadExperiment(file!));
  console.log((await Effect.runPromise(runExperiment(loaded, { results: results! }))).cells[0]!.cellId);
  process.exit(0);
}
const N = Number(process.env.BENCH_SERVE_N ?? 4);
const only = process.env.BENCH_ONLY;
if (only === undefined || only === "induction")
  await bench(
    "builtin:induction",
    experimentFor("induction", [
      "name: serve-induction",
      "model: builtin:induction",
      "task: { n: 16 }",
      "ablation: resample",
      "metric: logit-diff",
    ]),
    2,
  );
if (only === undefined || only === "gpt2")
  await bench(`gpt2-small-shaped ${N}×32`, experimentFor("gpt2", gpt2Files(N)), gpt2SmallConfig.nLayers);
console.log(
  `\nload average at the end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")}\n`,
);
console.log(
  "| model | edges | path | clicks into | first click | median click | p90 click | clicks after the first |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(
  `\npeak RSS of the server process: ${peakRssMb().toFixed(0)} MB; RSS after the clicks: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB (${afterClicks.map((x) => x.toFixed(0)).join(", ")} MB right after each model's clicks)\n`,
);
