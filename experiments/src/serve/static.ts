import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { exportPlan, plan } from "@patchbay/core/engine";
import { InputError } from "@patchbay/core/errors";
import { Effect } from "effect";
import { openCircuitSetup } from "../kinds/circuit/cell.ts";
import { readManifest } from "../run/manifest.ts";
import { readCellResult } from "../run/store.ts";
import { layoutGraph } from "./layout.ts";
import { ASSETS } from "./page.ts";
import { liveSource } from "./source.ts";
import { STATIC_JS } from "./static.js.ts";

/**
 * `patchbay report RUN --interactive`: a folder that opens from disk with no server and still
 * patches live. Each circuit cell of the run gets a page whose data holds the cell's edge-masked
 * graph (the ONNX runPlan compiles for it, Engine.exportPlan) and every input of its task but the
 * mask; onnxruntime-web runs it in the page (static.js.ts). Models past `STATIC_MAX_BYTES` of
 * graph and inputs are refused (InputError naming the cell): `patchbay serve` explores those.
 *
 *   <results>/runs/<runId>/interactive/index.html              the cells
 *   <results>/runs/<runId>/interactive/<cellId>/index.html     a cell's explorer (+ data.js)
 *   <results>/runs/<runId>/interactive/assets/                 ORT web (WASM, loader), code, styles
 */
// Measured near it (2026-12-03, headless Chromium, a 6-layer GPT-2-wide model with an 8,192-token
// vocabulary: 215 MiB of graph, 286 MiB of data.js): the page is ready in 53 s and a click takes 0.3 s.
export const STATIC_MAX_BYTES = 256 * 1024 * 1024;

/** The names the edge-masked graph reads its mask from and writes the metric to (core's engine). */
const MASK_INPUT = "edges.mask";
const METRIC_OUTPUT = "metric";

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MiB`;
const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
const html = (title: string, scripts: readonly string[]) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title.replace(/[<>&"]/g, "")}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="../assets/app.css">
</head>
<body>
<main id="main"></main>
${scripts.map((s) => `<script src="${s}"></script>`).join("\n")}
</body>
</html>
`;

/** onnxruntime-web's WASM build, from the installed package. */
const ortWeb = () => {
  const js = createRequire(import.meta.url).resolve("onnxruntime-web/wasm"); // dist/ort.wasm.min.js
  return {
    js,
    wasm: join(dirname(js), "ort-wasm-simd-threaded.wasm"),
    loader: join(dirname(js), "ort-wasm-simd-threaded.mjs"),
  };
};

const writeAssets = (dir: string) => {
  mkdirSync(dir, { recursive: true });
  const ort = ortWeb();
  copyFileSync(ort.js, join(dir, "ort.wasm.min.js"));
  writeFileSync(
    join(dir, "ort-wasm.js"),
    `window.PB_ORT_WASM = "${readFileSync(ort.wasm).toString("base64")}";\n`,
  );
  writeFileSync(
    join(dir, "ort-loader.js"),
    `window.PB_ORT_LOADER = ${JSON.stringify(readFileSync(ort.loader, "utf8"))};\n`,
  );
  writeFileSync(join(dir, "static.js"), STATIC_JS);
  writeFileSync(join(dir, "app.css"), ASSETS["/assets/app.css"]!.body);
};

/** One cell's page data: the graph, its fixed inputs, the edges and their mask positions. */
const cellData = (results: string, cellId: string, maxBytes: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const source = yield* liveSource(results, cellId);
      const { setup, model } = yield* openCircuitSetup(source);
      const { layout } = setup;
      const S = layout.sources.length;
      const D = layout.destinations.length;
      const N = setup.N;
      const tooLarge = (bytes: number) =>
        new InputError({
          field: `cell ${cellId} (model ${source.spec.model})`,
          expected: `a graph and task of at most ${mib(maxBytes)} for a static page (patchbay serve explores larger models)`,
          found: `${mib(bytes)} (${bytes} bytes) for model ${source.spec.model}`,
        });
      // the weights alone past the limit: refused before the graph is built
      let weights = 0;
      for (const t of setup.model.weights.values()) weights += t.data.byteLength;
      if (weights > maxBytes) return yield* tooLarge(weights);
      const exported = yield* exportPlan(
        setup.model,
        plan({
          metric: { kind: source.spec.metric },
          edges: { granularity: layout.granularity },
          logits: false,
        }),
        setup.task.clean,
        {
          metric: setup.binding,
          edges: {
            mask: { data: new Float32Array(N * S * D).fill(1), shape: [N, S, D] },
            ablated: yield* setup.ablated,
          },
        },
      );
      if (!(MASK_INPUT in exported.feeds))
        return yield* new InputError({
          field: `cell ${cellId}`,
          expected: `an edge-masked graph reading ${MASK_INPUT}`,
          found: Object.keys(exported.feeds).join(", "),
        });
      const feeds = Object.fromEntries(
        Object.entries(exported.feeds)
          .filter(([name]) => name !== MASK_INPUT)
          .map(([name, f]) => [name, { type: f.type, dims: f.dims, data: b64(f.data) }]),
      );
      const bytes =
        exported.onnx.byteLength + Object.values(exported.feeds).reduce((a, f) => a + f.data.byteLength, 0);
      if (bytes > maxBytes) return yield* tooLarge(bytes);
      const stored = readCellResult(results, cellId) as unknown as {
        method?: string;
        edges: { name: string; score: number | null; inGraph: boolean }[];
      };
      return {
        cellId,
        method: stored.method ?? "?",
        model: source.spec.model,
        N,
        S,
        D,
        edges: stored.edges,
        edgeIndex: layout.edges.map((e) => e.source * D + e.destination),
        layout: layoutGraph(stored.edges.map((e) => e.name)),
        maskInput: MASK_INPUT,
        metricOutput: METRIC_OUTPUT,
        onnx: b64(exported.onnx),
        feeds,
        vocab: model.config.vocabSize,
      };
    }),
  );

/**
 * Write the interactive folder of a run; returns the folder and each cell's page. `maxBytes`
 * (default STATIC_MAX_BYTES) bounds each cell's graph and inputs.
 */
export const writeInteractive = (results: string, runId: string, maxBytes: number = STATIC_MAX_BYTES) =>
  Effect.gen(function* () {
    const manifest = readManifest(join(results, "runs", runId, "manifest.json"));
    if (manifest === null)
      return yield* new InputError({
        field: "--run",
        expected: `a run with a manifest under ${results}/runs`,
        found: runId,
      });
    const dir = join(results, "runs", runId, "interactive");
    writeAssets(join(dir, "assets"));
    const pages: string[] = [];
    const links: string[] = [];
    for (const c of manifest.cells) {
      const r = readCellResult(results, c.cellId) as unknown as Record<string, unknown> | null;
      if (r === null || (r.kind !== undefined && r.kind !== "circuit")) continue;
      const data = yield* cellData(results, c.cellId, maxBytes);
      const cellDir = join(dir, c.cellId);
      mkdirSync(cellDir, { recursive: true });
      writeFileSync(join(cellDir, "data.js"), `window.PB_CELL = ${JSON.stringify(data)};\n`);
      const assets = [
        "../assets/ort.wasm.min.js",
        "../assets/ort-wasm.js",
        "../assets/ort-loader.js",
        "data.js",
        "../assets/static.js",
      ];
      writeFileSync(join(cellDir, "index.html"), html(`${data.method} · ${c.cellId.slice(0, 12)}`, assets));
      pages.push(join(cellDir, "index.html"));
      links.push(
        `<li><a href="${c.cellId}/index.html">${data.method} on ${data.model.replace(/[<>&"]/g, "")} · ${c.cellId.slice(0, 12)}</a></li>`,
      );
    }
    writeFileSync(
      join(dir, "index.html"),
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>patchbay: ${manifest.experiment.name.replace(/[<>&"]/g, "")}</title><link rel="stylesheet" href="assets/app.css"></head><body><main><h1>${manifest.experiment.name.replace(/[<>&"]/g, "")}</h1><ul>${links.join("")}</ul></main></body></html>\n`,
    );
    return { dir, pages };
  });
