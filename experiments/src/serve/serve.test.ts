import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateCircuits } from "@patchbay/circuits";
import { Effect, Exit, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCircuitSetup } from "../kinds/circuit/cell.ts";
import { runExperiment } from "../run/experiment.ts";
import { readCellResult } from "../run/store.ts";
import { loadExperiment } from "../spec/load.ts";
import { GROUND_TRUTH_EDGE, INDUCTION_EAP, runInductionEap } from "./test-support.ts";
import { TOKEN_HEADER } from "./guard.ts";
import type { LiveEvaluation } from "./live.ts";
import type { PromptView } from "./prompt.ts";
import { type Served, serve } from "./server.ts";
import type { RunSummary } from "./api.ts";

/**
 * `patchbay serve` over real HTTP on a results folder holding a real EAP run on builtin:induction:
 * who may ask (token, Host, Origin), what the API lists, and that a live evaluation equals what
 * circuits' evaluateCircuits computes for the same edge set on a separately opened setup.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-serve-"));
let results: string;
let scope: Scope.CloseableScope;
let served: Served;
let cellId: string;

/** edges in the stored circuit (top 12, pruned to paths from the input to the logits) */
const inCircuit = () => {
  const cell = readCellResult(results, cellId) as unknown as { edges: { inGraph: boolean }[] };
  return cell.edges.filter((e) => e.inGraph).length;
};
const base = () => `http://127.0.0.1:${served.port}`;
const get = (path: string, headers: Record<string, string> = { [TOKEN_HEADER]: served.token }) =>
  fetch(base() + path, { headers });
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(base() + path, {
    method: "POST",
    headers: { [TOKEN_HEADER]: served.token, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  ({ results, cellId } = await runInductionEap(dir));
  scope = await Effect.runPromise(Scope.make());
  served = await Effect.runPromise(Scope.extend(serve({ results }), scope));
}, 120_000);
afterAll(async () => {
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void));
});

describe("patchbay serve: who may ask", () => {
  it("binds to 127.0.0.1 and prints a URL with a 128-bit token", () => {
    expect(served.url).toBe(`http://127.0.0.1:${served.port}/?token=${served.token}`);
    expect(served.token).toMatch(/^[0-9a-f]{32}$/);
  });

  it("refuses the API and the page without the token, or with a wrong one", async () => {
    expect((await get("/api/runs", {})).status).toBe(403);
    expect((await get("/api/runs", { [TOKEN_HEADER]: "0".repeat(32) })).status).toBe(403);
    expect((await fetch(`${base()}/`)).status).toBe(403);
    expect((await fetch(`${base()}/?token=nope`)).status).toBe(403);
    const page = await fetch(served.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`<meta name="patchbay-token" content="${served.token}">`);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("refuses another Host (DNS rebinding), another Origin and cross-site fetches, even with the token", async () => {
    const t = { [TOKEN_HEADER]: served.token };
    // fetch cannot override Host; node:http can
    const { request } = await import("node:http");
    const status = (headers: Record<string, string>) =>
      new Promise<number>((ok, fail) => {
        const r = request(
          { host: "127.0.0.1", port: served.port, path: "/api/runs", headers: { ...t, ...headers } },
          (res) => {
            res.resume();
            ok(res.statusCode ?? 0);
          },
        );
        r.on("error", fail);
        r.end();
      });
    expect(await status({ host: `evil.example:${served.port}` })).toBe(403);
    expect(await status({ host: `localhost:${served.port}` })).toBe(200);
    expect(await status({ origin: "http://evil.example" })).toBe(403);
    expect(await status({ origin: `http://127.0.0.1:${served.port}` })).toBe(200);
    expect(await status({ "sec-fetch-site": "cross-site" })).toBe(403);
  });

  it("serves the code and styles without the token (they hold no data)", async () => {
    const js = await fetch(`${base()}/assets/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await fetch(`${base()}/assets/nothing.js`)).status).toBe(403);
  });
});

describe("patchbay serve: the API", () => {
  it("lists the run and its circuit cell", async () => {
    const body = (await (await get("/api/runs")).json()) as { runs: RunSummary[] };
    expect(body.runs).toHaveLength(1);
    expect(body.runs[0]!.name).toBe(INDUCTION_EAP.name);
    expect(body.runs[0]!.cells).toEqual([
      expect.objectContaining({ cellId, present: true, kind: "circuit", method: "eap", edges: inCircuit() }),
    ]);
  });

  it("returns a stored cell, and 404 for an unknown or malformed id", async () => {
    const cell = (await (await get(`/api/cells/${cellId}`)).json()) as { cellId: string; edges: unknown[] };
    expect(cell.cellId).toBe(cellId);
    expect((await get(`/api/cells/${"0".repeat(64)}`)).status).toBe(404);
    expect((await get("/api/cells/..%2F..%2Fetc")).status).toBe(404);
  });

  it("evaluates the stored circuit to the stored faithfulness, and a circuit without the ground-truth edge to evaluateCircuits' value", async () => {
    const cell = (await (await get(`/api/cells/${cellId}`)).json()) as {
      edges: { name: string; inGraph: boolean }[];
      faithfulness: { mean: number };
    };
    const stored = cell.edges.filter((e) => e.inGraph).map((e) => e.name);
    const own = (await (
      await post(`/api/cells/${cellId}/evaluate`, { edges: stored })
    ).json()) as LiveEvaluation;
    expect(own.edges).toBe(inCircuit());
    expect(own.edges).toBeGreaterThan(0);
    expect(own.faithfulness).toBeCloseTo(cell.faithfulness.mean, 5);
    // the ground truth minus one edge, as the explorer's click sends it (inGraph string)
    const names = cell.edges.map((e) => e.name);
    expect(names).toContain(GROUND_TRUTH_EDGE);
    const inGraph = Uint8Array.from(names, () => 1);
    inGraph[names.indexOf(GROUND_TRUTH_EDGE)] = 0;
    const res = await post(`/api/cells/${cellId}/evaluate`, { inGraph: Array.from(inGraph).join("") });
    expect(res.status).toBe(200);
    const live = (await res.json()) as LiveEvaluation;
    const reference = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const spec = {
            model: INDUCTION_EAP.model,
            task: { kind: "builtin" as const, builtin: INDUCTION_EAP.model, n: 8, seed: 0, options: {} },
            ablation: "resample" as const,
            metric: "logit-diff" as const,
            granularity: "head" as const,
            runtime: { threads: 1 },
          };
          const { setup } = yield* openCircuitSetup({ spec, baseDir: dir });
          return yield* evaluateCircuits(setup, [inGraph]);
        }),
      ),
    );
    expect(live.faithfulness).toBeCloseTo(reference.circuits[0]!.faithfulness, 5);
    expect(live.metric).toBeCloseTo(reference.circuits[0]!.metric, 5);
    expect(live.faithfulness).toBeLessThan(0.9); // the induction head's key input matters
    expect(live.perExample).toHaveLength(8);
    // everything in: the full model, faithfulness 1
    const all = (await (
      await post(`/api/cells/${cellId}/evaluate`, { inGraph: "1".repeat(names.length) })
    ).json()) as LiveEvaluation;
    expect(all.faithfulness).toBeCloseTo(1, 6);
  });

  it("--threads 1 (default: the machine's cores) evaluates the same circuit to 1e-6", async () => {
    const names = (
      (await (await get(`/api/cells/${cellId}`)).json()) as { edges: { name: string }[] }
    ).edges.map((e) => e.name);
    const inGraph = names.map((n) => (n === GROUND_TRUTH_EDGE ? "0" : "1")).join("");
    const one = (await (await post(`/api/cells/${cellId}/evaluate`, { inGraph })).json()) as LiveEvaluation;
    const scope2 = await Effect.runPromise(Scope.make());
    try {
      const two = await Effect.runPromise(Scope.extend(serve({ results, threads: 1 }), scope2));
      const res = await fetch(`http://127.0.0.1:${two.port}/api/cells/${cellId}/evaluate`, {
        method: "POST",
        headers: { [TOKEN_HEADER]: two.token, "content-type": "application/json" },
        body: JSON.stringify({ inGraph }),
      });
      expect(res.status).toBe(200);
      const live = (await res.json()) as LiveEvaluation;
      expect(live.faithfulness).toBeLessThan(0.9);
      expect(Math.abs(live.faithfulness - one.faithfulness)).toBeLessThan(1e-6);
      for (const [i, f] of live.perExample.entries())
        expect(Math.abs(f - one.perExample[i]!)).toBeLessThan(1e-6);
    } finally {
      await Effect.runPromise(Scope.close(scope2, Exit.void));
    }
  });

  it("the per-prompt view: with every edge in, the circuit's next tokens are the model's; the lens ends at the logits; a pattern is causal", async () => {
    const cell = (await (await get(`/api/cells/${cellId}`)).json()) as { edges: unknown[] };
    const E = cell.edges.length;
    const view = async (inGraph: string, head: string | null) =>
      (await (await post(`/api/cells/${cellId}/prompt`, { inGraph, example: 3, head })).json()) as PromptView;
    const all = await view("1".repeat(E), "a1.h2");
    expect(all.example).toBe(3);
    expect(all.clean.length).toBeGreaterThan(all.position);
    expect(all.top.circuit.map((t) => t.id)).toEqual(all.top.full.map((t) => t.id));
    all.top.circuit.forEach((t, i) => {
      expect(t.p).toBeCloseTo(all.top.full[i]!.p, 4);
    });
    expect(all.lens).toHaveLength(2);
    expect(all.lens.at(-1)!.top.id).toBe(all.top.full[0]!.id); // the last resid_post decoded is the model's output
    expect(all.answer!.id).toBe(all.top.full[0]!.id); // the induction model predicts the answer
    const P = all.clean.length;
    expect(all.attention!.pattern).toHaveLength(P);
    all.attention!.pattern.forEach((row, q) => {
      expect(row.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 4);
      row.forEach((x, k) => {
        if (k > q) expect(x).toBe(0);
      });
    });
    // the empty circuit is the corrupted run: its prediction differs from the model's here
    const none = await view("0".repeat(E), null);
    expect(none.attention).toBeNull();
    expect(none.top.circuit[0]!.id).not.toBe(all.top.full[0]!.id);
    expect(none.top.full).toEqual(all.top.full);
    const bad = async (b: unknown) => (await post(`/api/cells/${cellId}/prompt`, b)).status;
    expect(await bad({ inGraph: "1".repeat(E), example: 99, head: null })).toBe(400);
    expect(await bad({ inGraph: "1".repeat(E), example: 0, head: "a7.h0" })).toBe(400);
  });

  it("the experiment snippet reproduces the explored circuit's faithfulness with patchbay run", async () => {
    const cell = (await (await get(`/api/cells/${cellId}`)).json()) as {
      edges: { name: string; inGraph: boolean }[];
    };
    const names = cell.edges.map((e) => e.name);
    const inGraph = names.map((n, i) => (cell.edges[i]!.inGraph && n !== GROUND_TRUTH_EDGE ? 1 : 0)).join("");
    const live = (await (await post(`/api/cells/${cellId}/evaluate`, { inGraph })).json()) as LiveEvaluation;
    const { yaml } = (await (await post(`/api/cells/${cellId}/snippet`, { inGraph })).json()) as {
      yaml: string;
    };
    expect(yaml).toContain("_tag: edges");
    const file = join(dir, "snippet.yaml");
    writeFileSync(file, yaml);
    const loaded = await Effect.runPromise(loadExperiment(file));
    const again = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "snippet-results") }));
    const r = again.cells[0]!.result as unknown as {
      faithfulness: { mean: number };
      edges: { inGraph: boolean }[];
    };
    expect(r.edges.filter((e) => e.inGraph).length).toBe(live.edges);
    expect(r.faithfulness.mean).toBeCloseTo(live.faithfulness, 6);
  });

  it("bad requests are 400s naming the field; oversized bodies 413", async () => {
    const bodyOf = async (b: unknown) => {
      const r = await post(`/api/cells/${cellId}/evaluate`, b);
      return { status: r.status, error: ((await r.json()) as { error: string }).error };
    };
    expect(await bodyOf({ inGraph: "01" })).toMatchObject({
      status: 400,
      error: expect.stringContaining("inGraph"),
    });
    expect(await bodyOf({ edges: ["a0.h1->nowhere"] })).toMatchObject({
      status: 400,
      error: expect.stringContaining("edges[0]"),
    });
    expect(await bodyOf({ edges: [], inGraph: "" })).toMatchObject({ status: 400 });
    expect(await bodyOf("{not json")).toMatchObject({ status: 400, error: expect.stringContaining("JSON") });
    expect((await post(`/api/cells/${cellId}/evaluate`, "x".repeat(5 * 1024 * 1024))).status).toBe(413);
    expect((await get(`/api/cells/${cellId}/evaluate`)).status).toBe(405);
  });
});
