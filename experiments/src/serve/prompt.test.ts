import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { plan, runPlan } from "@patchbay/core/engine";
import type { HostTensor } from "@patchbay/core/tensor";
import { decodeResidual } from "@patchbay/readouts";
import { Effect, Exit, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maskFromEdges } from "@patchbay/circuits";
import { circuitResiduals, circuitStreamSites } from "./circuit-stream.ts";
import { type LiveCell, openLiveCell } from "./live.ts";
import { type PromptView, promptView } from "./prompt.ts";
import { liveSource } from "./source.ts";
import {
  hasSharedModels,
  sharedModelPath,
  warnIfNoSharedModels,
} from "../../../packages/core/src/testing/shared.ts";
import { GROUND_TRUTH_EDGE, runInductionEap, runStoriesEap } from "./test-support.ts";

/**
 * The per-prompt view under the circuit (promptView's `circuit`), on builtin:induction's EAP cell,
 * against independent computations: with every edge in, the circuit's pattern and lens are the
 * full model's; with the ground-truth edge a0.h1->a1.h2<k> out, a1.h2's pattern is the one an
 * activation patch of its key input gives (a replace intervention on blocks.1.attn.k_input, not
 * the edge hooks); with a0.h1->logits out, the circuit's stream after block 0 is resid_post_0 with
 * a0.h1's output swapped for its ablated value (and the lens decodes it), and the last lens row is
 * the circuit's own prediction.
 */
const B = 3; // the example viewed
const HEAD = { layer: 1, head: 2 };

describe("the per-prompt view under the circuit (builtin:induction)", () => {
  let scope: Scope.CloseableScope;
  let cell: LiveCell;
  let names: string[];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-prompt-"));
    const { results, cellId } = await runInductionEap(dir);
    scope = Effect.runSync(Scope.make());
    cell = await Effect.runPromise(
      Effect.flatMap(liveSource(results, cellId), (input) => openLiveCell(cellId, input, scope)),
    );
    names = cell.setup.layout.edges.map((e) => e.name);
  }, 120_000);
  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void));
  });

  const view = (out: readonly string[]): Promise<PromptView> =>
    Effect.runPromise(
      promptView(
        cell,
        Uint8Array.from(names, (n) => (out.includes(n) ? 0 : 1)),
        B,
        HEAD,
      ),
    );
  const clean = () => cell.setup.task.clean[B]!;
  /** z′ of source `name` at example B: [P, d] */
  const zPrimeOf = (ablated: HostTensor, name: string) => {
    const [, P, S, d] = ablated.shape as [number, number, number, number];
    const s = cell.setup.layout.sources.find((x) => x.name === name)!.index;
    const out = new Float32Array(P * d);
    for (let p = 0; p < P; p++)
      out.set(ablated.data.subarray(((B * P + p) * S + s) * d, ((B * P + p) * S + s + 1) * d), p * d);
    return out;
  };

  it("with every edge in, the circuit's pattern and lens are the full model's", async () => {
    const v = await view([]);
    const full = v.attention!.pattern.flat();
    const circuit = v.circuit.attention!.pattern.flat();
    expect(circuit).toHaveLength(full.length);
    const worst = Math.max(...circuit.map((x, i) => Math.abs(x - full[i]!)));
    console.log(`every edge in: |pattern(circuit) − pattern(full)| ≤ ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
    expect(v.circuit.lens.map((r) => r.top.id)).toEqual(v.lens.map((r) => r.top.id));
    v.circuit.lens.forEach((r, l) => {
      expect(r.site).toBe(v.lens[l]!.site);
      expect(r.answer!).toBeCloseTo(v.lens[l]!.answer!, 6);
      expect(r.top.p).toBeCloseTo(v.lens[l]!.top.p, 6);
    });
  });

  it("the ground-truth edge out: a1.h2's pattern is an activation patch of its key input", async () => {
    expect(names).toContain(GROUND_TRUTH_EDGE);
    const v = await view([GROUND_TRUTH_EDGE]);
    const { cache, model } = cell.setup;
    // independently: the clean run's key input of layer 1 with head 2's slot moved by −(z − z′) of a0.h1
    const ablated = await Effect.runPromise(cell.setup.ablated);
    const seq = [clean()];
    const base = await Effect.runPromise(
      runPlan(cache, model, plan({ captures: ["blocks.0.attn.result", "blocks.1.attn.k_input"] }), seq),
    );
    const z = base.sites.get("blocks.0.attn.result")!; // [1, P, H, d]
    const k = base.sites.get("blocks.1.attn.k_input")!; // [1, P, H, d]
    const [, P, H, d] = k.shape as [number, number, number, number];
    const zPrime = zPrimeOf(ablated, "a0.h1");
    const patched = Float32Array.from(k.data);
    for (let p = 0; p < P; p++)
      for (let i = 0; i < d; i++)
        patched[(p * H + 2) * d + i]! -= z.data[(p * H + 1) * d + i]! - zPrime[p * d + i]!;
    const r = await Effect.runPromise(
      runPlan(
        cache,
        model,
        plan({
          interventions: [{ _tag: "replace", target: { site: "blocks.1.attn.k_input" } }],
          captures: ["blocks.1.attn.pattern"],
        }),
        seq,
        { interventions: [{ value: { data: patched, shape: k.shape } }] },
      ),
    );
    const t = r.sites.get("blocks.1.attn.pattern")!; // [1, H, P, P]
    const expected = Array.from({ length: P * P }, (_, i) => t.data[2 * P * P + i]!);
    const got = v.circuit.attention!.pattern.flat();
    const worst = Math.max(...got.map((x, i) => Math.abs(x - expected[i]!)));
    const moved = Math.max(...got.map((x, i) => Math.abs(x - v.attention!.pattern.flat()[i]!)));
    console.log(
      `${GROUND_TRUTH_EDGE} out: a1.h2's pattern moves by up to ${moved.toFixed(3)}; against the patched key input ${worst.toExponential(2)}`,
    );
    expect(moved).toBeGreaterThan(0.1); // the induction head loses its key: its pattern changes
    expect(worst).toBeLessThan(1e-5);
  });

  it("a0.h1->logits out: the lens after block 0 swaps a0.h1 for its ablated value; the last row is the circuit's output", async () => {
    const v = await view(["a0.h1->logits"]);
    const { cache, model } = cell.setup;
    const ablated = await Effect.runPromise(cell.setup.ablated);
    const seq = [clean()];
    const base = await Effect.runPromise(
      runPlan(cache, model, plan({ captures: ["blocks.0.attn.result", "blocks.0.resid_post"] }), seq),
    );
    const z = base.sites.get("blocks.0.attn.result")!;
    const h = base.sites.get("blocks.0.resid_post")!; // [1, P, d]
    const [, P, H, d] = z.shape as [number, number, number, number];
    const zPrime = zPrimeOf(ablated, "a0.h1");
    const r0 = Float32Array.from(h.data);
    for (let p = 0; p < P; p++)
      for (let i = 0; i < d; i++) r0[p * d + i]! -= z.data[(p * H + 1) * d + i]! - zPrime[p * d + i]!;
    const logits = await Effect.runPromise(decodeResidual(cache, model, { data: r0, shape: h.shape }, seq));
    const V = logits.shape[2]!;
    const pos = cell.setup.binding.positions[B]![0]!;
    const row = Array.from(logits.data.subarray(pos * V, (pos + 1) * V));
    const max = Math.max(...row);
    const z0 = row.reduce((a, x) => a + Math.exp(x - max), 0);
    const answer = cell.setup.binding.answers![B]![0]!;
    const expected = Math.exp(row[answer]! - max) / z0;
    console.log(
      `a0.h1->logits out: p(answer) after block 0, circuit ${v.circuit.lens[0]!.answer} (independent ${expected}), full ${v.lens[0]!.answer}`,
    );
    expect(v.circuit.lens[0]!.answer!).toBeCloseTo(expected, 5);
    // (this model's stream after block 0 decodes to nearly uniform: compare the residual itself)
    const mask = maskFromEdges(
      cell.setup,
      names.map((n) => (n === "a0.h1->logits" ? 0 : 1)),
    );
    const S = cell.setup.layout.sources.length;
    const zPrimeAll = {
      data: ablated.data.slice(B * P * S * d, (B + 1) * P * S * d),
      shape: [1, P, S, d],
    };
    const run = await Effect.runPromise(
      runPlan(
        cache,
        model,
        plan({
          edges: { granularity: cell.setup.layout.granularity },
          captures: circuitStreamSites(cell.setup.layout),
        }),
        seq,
        {
          edges: {
            mask: { data: mask, shape: [1, S, cell.setup.layout.destinations.length] },
            ablated: zPrimeAll,
          },
        },
      ),
    );
    const got = circuitResiduals(cell.setup.layout, mask, run.sites, zPrimeAll)[0]!.data;
    const worst = Math.max(...Array.from(got, (x, i) => Math.abs(x - r0[i]!)));
    const moved = Math.max(...Array.from(got, (x, i) => Math.abs(x - h.data[i]!)));
    console.log(
      `a0.h1->logits out: r_0 moves by up to ${moved.toFixed(3)}; against the independent r_0 ${worst.toExponential(2)}`,
    );
    expect(moved).toBeGreaterThan(0.1);
    expect(worst).toBeLessThan(1e-5);
    expect(v.circuit.lens.at(-1)!.top.id).toBe(v.top.circuit[0]!.id);
    expect(v.circuit.lens.at(-1)!.top.p).toBeCloseTo(v.top.circuit[0]!.p, 5);
  });
});

warnIfNoSharedModels(
  "the per-prompt view under the circuit on stories260K (experiments/src/serve/prompt.test.ts)",
);

describe.skipIf(!hasSharedModels)(
  "the per-prompt view under the circuit (stories260K: GQA, prompts of different lengths)",
  () => {
    let scope: Scope.CloseableScope;
    let cell: LiveCell;

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), "patchbay-prompt-stories-"));
      const { results, cellId } = await runStoriesEap(dir, sharedModelPath("stories260K", "stories260K.bin"));
      scope = Effect.runSync(Scope.make());
      cell = await Effect.runPromise(
        Effect.flatMap(liveSource(results, cellId), (input) => openLiveCell(cellId, input, scope)),
      );
    }, 120_000);
    afterAll(async () => {
      if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void));
    });

    it("the shortest prompt: every edge in gives the full model's pattern and lens; the circuit's lens ends at its output", async () => {
      const lengths = cell.setup.task.clean.map((s) => s.length);
      const b = lengths.indexOf(Math.min(...lengths));
      expect(Math.min(...lengths)).toBeLessThan(Math.max(...lengths)); // a ragged task: z′ is cut to the prompt
      const E = cell.setup.layout.edges.length;
      const head = { layer: 2, head: 6 };
      const all = await Effect.runPromise(promptView(cell, new Uint8Array(E).fill(1), b, head));
      const full = all.attention!.pattern.flat();
      const worst = Math.max(...all.circuit.attention!.pattern.flat().map((x, i) => Math.abs(x - full[i]!)));
      expect(worst).toBeLessThan(1e-6);
      expect(all.circuit.lens.map((r) => r.top.id)).toEqual(all.lens.map((r) => r.top.id));
      for (const [l, r] of all.circuit.lens.entries()) expect(r.answer!).toBeCloseTo(all.lens[l]!.answer!, 5);
      // the empty circuit (every source at its ablated value)
      const empty = new Uint8Array(E);
      const v = await Effect.runPromise(promptView(cell, empty, b, head));
      expect(v.circuit.lens.at(-1)!.top.id).toBe(v.top.circuit[0]!.id);
      expect(v.circuit.lens.at(-1)!.top.p).toBeCloseTo(v.top.circuit[0]!.p, 5);
      expect(v.circuit.lens.at(-1)!.answer!).not.toBeCloseTo(v.lens.at(-1)!.answer!, 3);
    });
  },
);
