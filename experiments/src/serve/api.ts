import { type MibGraphJson, mibJsonProblem, toMibJson } from "@patchbay/circuits";
import { Effect } from "effect";
import { listRuns, readManifest } from "../run/manifest.ts";
import { readCellResult } from "../run/store.ts";
import { join } from "node:path";
import { type EdgeExplanation, explainEdge } from "./explain.ts";
import { layoutGraph } from "./layout.ts";
import { evaluateLive, type LiveCell, type LiveEvaluation } from "./live.ts";
import { type PromptView, promptView } from "./prompt.ts";
import { experimentSnippet } from "./snippet.ts";
import type { makeLiveCells } from "./live.ts";
import { CELL_ID, liveSource, ServeError } from "./source.ts";

/**
 * The explorer's JSON API (every route needs the session token, guard.ts):
 *   GET  /api/runs                    runs of the results folder, each with its cells
 *   GET  /api/cells/<id>              a stored cell result, as written
 *   GET  /api/cells/<id>/graph        the component graph laid out (layout.ts), and the scores of
 *                                     every circuit cell of the store over the same edges (the
 *                                     other methods on the same model and task)
 *   POST /api/cells/<id>/evaluate     {"inGraph": "0110…"} (one character per layout edge) or
 *                                     {"edges": ["a0.h1->a1.h2<k>", …]} → LiveEvaluation
 *   POST /api/cells/<id>/explain      {"inGraph": "…", "edge": name} → EdgeExplanation
 *   POST /api/cells/<id>/prompt       {"inGraph": "…", "example": b, "head": "a1.h2" | null} →
 *                                     PromptView (tokens, top next tokens circuit vs full, the
 *                                     head's attention pattern, the logit lens)
 *   POST /api/cells/<id>/snippet      {"inGraph": "…"} → {"yaml": an experiment file reproducing it}
 *   POST /api/cells/<id>/export       {"inGraph": "…"} → the circuit as MIB / EAP-IG JSON (every
 *                                     edge with this cell's score and in_graph)
 */
export type LiveCells = Effect.Effect.Success<ReturnType<typeof makeLiveCells>>;

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface RunSummary {
  readonly runId: string;
  readonly name: string;
  readonly status: string;
  readonly done: number;
  readonly total: number;
  readonly cells: readonly {
    readonly cellId: string;
    readonly varying: Readonly<Record<string, unknown>>;
    readonly present: boolean;
    readonly kind: string;
    readonly method: string | null;
    readonly faithfulness: number | null;
    readonly edges: number | null;
  }[];
}

const num = (v: unknown): number | null => (typeof v === "number" ? v : null);

/** Every run with its cells (what the front page lists). */
export const runsOf = (results: string): RunSummary[] =>
  listRuns(results).map((run) => {
    const m = readManifest(join(results, "runs", run.runId, "manifest.json"));
    return {
      runId: run.runId,
      name: run.name,
      status: run.status,
      done: run.done,
      total: run.total,
      cells: (m?.cells ?? []).map((c) => {
        const r = readCellResult(results, c.cellId) as unknown as Record<string, unknown> | null;
        const f = r?.faithfulness as Record<string, unknown> | undefined;
        const edges = Array.isArray(r?.edges) ? (r.edges as { inGraph?: unknown }[]) : null;
        return {
          cellId: c.cellId,
          varying: c.varying,
          present: r !== null,
          kind: typeof r?.kind === "string" ? r.kind : "circuit",
          method: typeof r?.method === "string" ? r.method : null,
          faithfulness: num(f?.mean),
          edges: edges === null ? null : edges.filter((e) => e.inGraph === true).length,
        };
      }),
    };
  });

interface StoredCircuit {
  readonly cellId: string;
  readonly method?: string;
  readonly kind?: string;
  readonly edges: readonly {
    readonly name: string;
    readonly score: number | null;
    readonly inGraph: boolean;
  }[];
  readonly spec?: Record<string, unknown>;
}

/** What makes two cells' scores comparable: the same model, task, ablation, metric and granularity. */
const sameQuestion = (a: StoredCircuit, b: StoredCircuit): boolean => {
  const key = (r: StoredCircuit) =>
    JSON.stringify(["model", "task", "ablation", "metric", "granularity"].map((k) => r.spec?.[k] ?? null));
  return key(a) === key(b);
};

/**
 * Scores from every circuit cell in the store that asks the same question as `cell` (model, task,
 * ablation, metric, granularity) over the same edges, one entry per cell (the cell itself
 * included): what the hover and the explain panel show side by side.
 */
export const methodScores = (results: string, cell: StoredCircuit) => {
  const names = cell.edges.map((e) => e.name);
  const out: { cellId: string; method: string; scores: (number | null)[] }[] = [];
  const seen = new Set<string>();
  for (const run of runsOf(results))
    for (const c of run.cells) {
      if (seen.has(c.cellId) || !c.present || c.kind !== "circuit") continue;
      seen.add(c.cellId);
      const r = readCellResult(results, c.cellId) as unknown as StoredCircuit | null;
      if (r === null || !Array.isArray(r.edges) || r.edges.length !== names.length || !sameQuestion(r, cell))
        continue;
      if (!r.edges.every((e, i) => e.name === names[i])) continue;
      out.push({
        cellId: c.cellId,
        method: r.method ?? "?",
        scores: r.edges.map((e) => (typeof e.score === "number" ? e.score : null)),
      });
    }
  return out;
};

/** {"inGraph"|"edges", "example": b, "head": "a{l}.h{h}" | null} → the prompt view. */
const promptRequest = (cell: LiveCell, request: unknown, names: readonly string[]) =>
  Effect.gen(function* () {
    const { example, head, ...rest } = (request ?? {}) as Record<string, unknown>;
    const N = cell.setup.N;
    if (typeof example !== "number" || !Number.isInteger(example) || example < 0 || example >= N)
      return yield* bad("example", `an example index from 0 to ${N - 1}`, JSON.stringify(example));
    let picked: { layer: number; head: number } | null = null;
    if (head !== undefined && head !== null) {
      const m = typeof head === "string" ? /^a(\d+)\.h(\d+)$/.exec(head) : null;
      const c = cell.setup.model.config;
      if (m === null || Number(m[1]) >= c.nLayers || Number(m[2]) >= c.nHeads)
        return yield* bad(
          "head",
          `a head a{layer}.h{head} of this model (${c.nLayers} layers × ${c.nHeads} heads) or null`,
          JSON.stringify(head),
        );
      picked = { layer: Number(m[1]), head: Number(m[2]) };
    }
    return yield* promptView(cell, yield* circuitOf(rest, names), example, picked);
  });

const bad = (field: string, expected: string, found: string) =>
  new ServeError({ status: 400, field, expected, found });

/** The circuit a request names, as one byte per layout edge. */
export const circuitOf = (body: unknown, names: readonly string[]): Effect.Effect<Uint8Array, ServeError> =>
  Effect.gen(function* () {
    if (body === null || typeof body !== "object" || Array.isArray(body))
      return yield* bad("(body)", 'a JSON object {"inGraph": "01…"} or {"edges": [names]}', typeof body);
    const b = body as Record<string, unknown>;
    const keys = Object.keys(b);
    if (keys.length !== 1 || (keys[0] !== "inGraph" && keys[0] !== "edges"))
      return yield* bad("(body)", 'exactly one of "inGraph" or "edges"', JSON.stringify(keys));
    const E = names.length;
    if ("inGraph" in b) {
      const s = b.inGraph;
      if (typeof s !== "string" || s.length !== E || !/^[01]*$/.test(s))
        return yield* bad(
          "inGraph",
          `a string of ${E} characters 0 or 1 (one per edge, layout order)`,
          typeof s === "string" ? `${s.length} characters` : typeof s,
        );
      return Uint8Array.from(s, (c) => (c === "1" ? 1 : 0));
    }
    const list = b.edges;
    if (!Array.isArray(list)) return yield* bad("edges", "an array of edge names", typeof list);
    const index = new Map(names.map((n, i) => [n, i]));
    const inGraph = new Uint8Array(E);
    for (const [i, n] of list.entries()) {
      const e = typeof n === "string" ? index.get(n) : undefined;
      if (e === undefined)
        return yield* bad(`edges[${i}]`, "an edge of this cell's layout", JSON.stringify(n));
      inGraph[e] = 1;
    }
    return inGraph;
  });

/** Route one API request. */
export const handleApi = (
  results: string,
  live: LiveCells,
  method: string,
  path: string,
  body: () => Effect.Effect<unknown, ServeError>,
): Effect.Effect<ApiResponse, never> =>
  Effect.gen(function* () {
    if (path === "/api/runs") {
      if (method !== "GET") return { status: 405, body: { error: "GET only" } };
      return { status: 200, body: { results, runs: runsOf(results) } };
    }
    const m = /^\/api\/cells\/([^/]+)(\/evaluate|\/explain|\/export|\/snippet|\/prompt|\/graph)?$/.exec(path);
    if (m === null) return { status: 404, body: { error: `no API route ${path}` } };
    const cellId = decodeURIComponent(m[1]!);
    if (m[2] === undefined) {
      if (method !== "GET") return { status: 405, body: { error: "GET only" } };
      const r = CELL_ID.test(cellId) ? readCellResult(results, cellId) : null;
      if (r === null)
        return { status: 404, body: { error: `no cell ${JSON.stringify(cellId)} in ${results}/cells` } };
      return { status: 200, body: r };
    }
    if (m[2] === "/graph") {
      if (method !== "GET") return { status: 405, body: { error: "GET only" } };
      const r = CELL_ID.test(cellId)
        ? (readCellResult(results, cellId) as unknown as StoredCircuit | null)
        : null;
      if (r === null || !Array.isArray(r.edges))
        return {
          status: 404,
          body: { error: `no circuit cell ${JSON.stringify(cellId)} in ${results}/cells` },
        };
      const names = r.edges.map((e) => e.name);
      return { status: 200, body: { layout: layoutGraph(names), methods: methodScores(results, r) } };
    }
    if (method !== "POST") return { status: 405, body: { error: "POST only" } };
    // the stored cell (megabytes at GPT-2 scale) is read when the cell opens and by export and
    // snippet only, not on every click
    if (!CELL_ID.test(cellId)) yield* liveSource(results, cellId); // the 404 naming the id
    const request = yield* body();
    const explain = m[2] === "/explain";
    const stored = () => readCellResult(results, cellId) as unknown as StoredCircuit;
    const r: LiveEvaluation | EdgeExplanation | MibGraphJson | PromptView | { yaml: string } =
      yield* live.withCell(
        cellId,
        () => liveSource(results, cellId),
        (cell) =>
          Effect.gen(function* () {
            const names = cell.setup.layout.edges.map((e) => e.name);
            if (m[2] === "/export") {
              const { layout, model } = cell.setup;
              const problem = mibJsonProblem(layout);
              if (problem !== null) return yield* bad("export", problem.expected, problem.found);
              const scores = Float64Array.from(stored().edges, (e) =>
                typeof e.score === "number" ? e.score : Number.NaN,
              );
              return toMibJson(
                layout,
                { layout, inGraph: yield* circuitOf(request, names), scores },
                model.config,
              );
            }
            if (m[2] === "/snippet") {
              const chosen = yield* circuitOf(request, names);
              const source = yield* liveSource(results, cellId);
              const spec = { ...(stored().spec ?? {}), ...source.spec }; // the setup fields as liveSource decoded them
              return {
                yaml: experimentSnippet(
                  cellId,
                  spec,
                  source.baseDir,
                  names.filter((_, i) => chosen[i] === 1),
                ),
              };
            }
            if (m[2] === "/prompt") return yield* promptRequest(cell, request, names);
            if (!explain) return yield* evaluateLive(cell, yield* circuitOf(request, names));
            const { edge, ...rest } = (request ?? {}) as Record<string, unknown>;
            const e = typeof edge === "string" ? names.indexOf(edge) : -1;
            if (e < 0) return yield* bad("edge", "an edge of this cell's layout", JSON.stringify(edge));
            return yield* explainEdge(cell, yield* circuitOf(rest, names), e);
          }),
      );
    return { status: 200, body: r };
  }).pipe(
    Effect.catchAll((e) =>
      Effect.succeed<ApiResponse>({
        // the request's fault (ServeError's own status), else the stored cell's: its spec, model or task
        status: e._tag === "ServeError" ? e.status : 422,
        body: { error: e.message, tag: e._tag },
      }),
    ),
  );
