/**
 * `pnpm bench:serve` (part of `pnpm bench`): the explorer's time from a click to the updated
 * metric, in server mode, on builtin:induction (81 edges, 16 examples) and on the
 * GPT-2-small-shaped model (random weights, 32,491 edges, N × 32 tokens; BENCH_SERVE_N, default
 * 4). For each: an EAP cell is computed into a fresh store, `patchbay serve`'s server is started
 * on it, and
 *   - api:     POST /evaluate round trips toggling the strongest edges out and back in (the
 *              server's whole work per click: the edge-masked graph for one mask, no recompile);
 *   - browser: in headless Chromium (when installed), a click on an edge's box until the page
 *              shows the new metric (fetch, run, render).
 * The first request opens the cell (compiles its graph, measures the full model and the empty
 * circuit) and is reported apart. Prints a table; figures go to BENCHMARKS.md by hand.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { gpt2SmallConfig, randomWeights } from "@patchbay/core/model";
import { saveTransformerLensFolder, writeTaskFileSync } from "@patchbay/zoo";
import { Effect, Exit, Scope } from "effect";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, findChromium } from "../src/report/testing/chromium.ts";
import { loadExperiment, runExperiment } from "../src/index.ts";
import { TOKEN_HEADER } from "../src/serve/guard.ts";
import { serve } from "../src/serve/server.ts";

const ROUNDS = 12;
const dir = mkdtempSync(join(tmpdir(), "patchbay-bench-serve-"));
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const rows: string[][] = [];

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

const bench = async (label: string, file: string) => {
  const results = join(dir, `store-${label}`);
  const loaded = await Effect.runPromise(loadExperiment(file));
  const cellId = (await Effect.runPromise(runExperiment(loaded, { results }))).cells[0]!.cellId;
  const scope = await Effect.runPromise(Scope.make());
  try {
    const s = await Effect.runPromise(Scope.extend(serve({ results }), scope));
    const base = `http://127.0.0.1:${s.port}`;
    const cell = (await (
      await fetch(`${base}/api/cells/${cellId}`, { headers: { [TOKEN_HEADER]: s.token } })
    ).json()) as {
      edges: { name: string; score: number | null; inGraph: boolean }[];
    };
    const E = cell.edges.length;
    const strongest = cell.edges
      .map((e, i) => i)
      .sort((a, b) => Math.abs(cell.edges[b]!.score ?? 0) - Math.abs(cell.edges[a]!.score ?? 0));
    const evaluate = async (inGraph: Uint8Array) => {
      const t0 = performance.now();
      const r = await fetch(`${base}/api/cells/${cellId}/evaluate`, {
        method: "POST",
        headers: { [TOKEN_HEADER]: s.token, "content-type": "application/json" },
        body: JSON.stringify({ inGraph: Array.from(inGraph).join("") }),
      });
      if (!r.ok) throw new Error(`evaluate: ${r.status} ${await r.text()}`);
      await r.json();
      return performance.now() - t0;
    };
    const circuit = Uint8Array.from(cell.edges, (e) => (e.inGraph ? 1 : 0));
    const first = await evaluate(circuit);
    const api: number[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      const e = strongest[k % 4]!;
      circuit[e] = 1 - circuit[e]!;
      api.push(await evaluate(circuit));
    }
    rows.push([
      label,
      String(E),
      "api",
      `${first.toFixed(0)} ms`,
      `${quantile(api, 0.5).toFixed(0)} ms`,
      `${quantile(api, 0.9).toFixed(0)} ms`,
    ]);
    const exe = findChromium();
    if (exe === null) {
      rows.push([label, String(E), "browser", "skipped: no chromium", "", ""]);
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
      const clicks: number[] = [];
      for (let k = 0; k < ROUNDS; k++) {
        const box = page.locator(`input[data-edge="${cell.edges[strongest[k % 4]!]!.name}"]`);
        const t0 = performance.now();
        await box.click();
        await done(k + 2);
        clicks.push(performance.now() - t0);
      }
      if ((await status.textContent()) !== "ready")
        throw new Error(`explorer: ${await status.textContent()}`);
      rows.push([
        label,
        String(E),
        "browser",
        "",
        `${quantile(clicks, 0.5).toFixed(0)} ms`,
        `${quantile(clicks, 0.9).toFixed(0)} ms`,
      ]);
    } finally {
      await browser.close();
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void));
  }
};

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
  );
if (only === undefined || only === "gpt2")
  await bench(`gpt2-small-shaped ${N}×32`, experimentFor("gpt2", gpt2Files(N)));
console.log(
  `\nload average at the end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")}\n`,
);
console.log("| model | edges | path | first (opens the cell) | median click | p90 click |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
