import { maskFromEdges } from "@patchbay/circuits";
import { plan, runPlan } from "@patchbay/core/engine";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import type { HostTensor } from "@patchbay/core/tensor";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import { decodeResidual } from "@patchbay/readouts";
import { Effect } from "effect";
import { circuitResiduals, circuitStreamSites } from "./circuit-stream.ts";
import type { LiveCell } from "./live.ts";

/**
 * One prompt of a cell's task, as the explorer's per-prompt view shows it:
 *   tokens     the clean and corrupted prompts, token by token (text from the model's tokenizer,
 *              else the ids)
 *   top        the next-token distribution at the metric's first position, top 10, under the
 *              current circuit (the edge-masked graph with its mask, one row) and under the full
 *              model, p = softmax(logits)
 *   attention  a head's pattern [query, key] on the clean prompt (blocks.l.attn.pattern)
 *   lens       the logit lens along the residual stream: each block's resid_post decoded by the
 *              model's own head, W_U · LN_f(h), at that position: the top token and p(answer)
 * `attention` and `lens` are the full model's; `circuit` has both under the current circuit, from
 * the same edge-masked run as the circuit's top tokens: the pattern its heads compute from their
 * masked inputs, and the lens of the circuit's residual stream (circuit-stream.ts: at each block
 * boundary, what the logits would read there with the circuit's own logits edges, the sources it
 * does not connect to the logits at their ablated values).
 */
export interface TokenProb {
  readonly id: number;
  readonly text: string;
  readonly p: number;
}

export interface PromptView {
  readonly example: number;
  readonly clean: readonly { readonly id: number; readonly text: string }[];
  readonly corrupted: readonly { readonly id: number; readonly text: string }[];
  /** the position the views read (the metric's first) */
  readonly position: number;
  readonly answer: TokenProb | null;
  readonly top: { readonly circuit: readonly TokenProb[]; readonly full: readonly TokenProb[] };
  readonly attention: null | {
    readonly layer: number;
    readonly head: number;
    readonly pattern: readonly (readonly number[])[];
  };
  readonly lens: readonly LensRow[];
  /** the same views under the current circuit (the edge-masked model with its mask) */
  readonly circuit: { readonly attention: PromptView["attention"]; readonly lens: readonly LensRow[] };
}

export interface LensRow {
  readonly site: string;
  readonly top: TokenProb;
  readonly answer: number | null;
}

const textOf = (tok: Tokenizer | null, id: number): string => {
  if (tok === null) return `#${id}`;
  try {
    return tok.decode([id]);
  } catch {
    return `#${id}`;
  }
};

/** softmax at position p of batch row b of logits [B, P, V] (float64), and its top k. */
const distribution = (logits: HostTensor, p: number, b = 0) => {
  const V = logits.shape[2]!;
  const at = (b * logits.shape[1]! + p) * V;
  const row = logits.data.subarray(at, at + V);
  let max = Number.NEGATIVE_INFINITY;
  for (const x of row) max = Math.max(max, x);
  let z = 0;
  for (const x of row) z += Math.exp(x - max);
  const prob = (id: number) => Math.exp(row[id]! - max) / z;
  const top = (k: number) =>
    Array.from(row.keys())
      .sort((a, b) => row[b]! - row[a]! || a - b)
      .slice(0, k);
  return { prob, top };
};

/** The per-prompt view of example `b` under the circuit `inGraph` (`head`: "a{l}.h{h}" or null). */
export const promptView = (
  cell: LiveCell,
  inGraph: Uint8Array,
  b: number,
  head: { readonly layer: number; readonly head: number } | null,
): Effect.Effect<PromptView, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { setup, tokenizer } = cell;
    const c = setup.model.config;
    const clean = setup.task.clean[b]!;
    const position = setup.binding.positions[b]![0]!;
    const answerId = setup.binding.answers?.[b]?.[0];
    const tp = (dist: ReturnType<typeof distribution>, id: number): TokenProb => ({
      id,
      text: textOf(tokenizer, id),
      p: dist.prob(id),
    });
    const { layout } = setup;
    const P = clean.length;
    const resid = Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.resid_post`);
    // every layer's pattern, whichever head is asked for: one compiled graph per run, not one per layer
    const patterns = Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.attn.pattern`);
    // the circuit: one row of the edge-masked graph with the full logits, the head's pattern and
    // the sites its residual stream is made of; z′ of this example at its own positions (the task's
    // batch is right-padded to its longest prompt)
    const ablated = yield* setup.ablated;
    const [, Pmax, S, d] = ablated.shape as [number, number, number, number];
    const zPrime = {
      data: ablated.data.slice(b * Pmax * S * d, (b * Pmax + P) * S * d),
      shape: [1, P, S, d],
    };
    const mask = maskFromEdges(setup, inGraph);
    const circuitRun = yield* runPlan(
      setup.cache,
      setup.model,
      plan({
        edges: { granularity: layout.granularity },
        captures: [...new Set([...circuitStreamSites(layout), ...patterns])],
        logits: true,
      }),
      [clean],
      {
        edges: {
          mask: { data: mask, shape: [1, S, layout.destinations.length] },
          ablated: zPrime,
        },
      },
    );
    // the full model: logits, every block's resid_post, and the patterns
    const full = yield* runPlan(setup.cache, setup.model, plan({ captures: [...resid, ...patterns] }), [
      clean,
    ]);
    const circuitDist = distribution(circuitRun.logits!, position);
    const fullDist = distribution(full.logits!, position);
    // the lens: per block, the full model's residual and the circuit's, decoded in one run
    const circuitResid = circuitResiduals(layout, mask, circuitRun.sites, zPrime);
    const lens: LensRow[] = [];
    const circuitLens: LensRow[] = [];
    for (const [l, site] of resid.entries()) {
      const h = full.sites.get(site)!;
      const both = { data: new Float32Array(2 * h.data.length), shape: [2, ...h.shape.slice(1)] };
      both.data.set(h.data);
      both.data.set(circuitResid[l]!.data, h.data.length);
      const logits = yield* decodeResidual(setup.cache, setup.model, both, [clean, clean]);
      for (const [row, rows] of [lens, circuitLens].entries()) {
        const dist = distribution(logits, position, row);
        rows.push({
          site,
          top: tp(dist, dist.top(1)[0]!),
          answer: answerId === undefined ? null : dist.prob(answerId),
        });
      }
    }
    const attentionOf = (sites: ReadonlyMap<string, HostTensor>): PromptView["attention"] => {
      if (head === null) return null;
      const t = sites.get(patterns[head.layer]!)!; // [1, H, P, P]
      const at = (q: number, k: number) => t.data[(head.head * P + q) * P + k]!;
      return {
        layer: head.layer,
        head: head.head,
        pattern: Array.from({ length: P }, (_, q) => Array.from({ length: P }, (_, k) => at(q, k))),
      };
    };
    const tokens = (ids: readonly number[]) => ids.map((id) => ({ id, text: textOf(tokenizer, id) }));
    return {
      example: b,
      clean: tokens(clean),
      corrupted: tokens(setup.task.corrupted?.[b] ?? []),
      position,
      answer: answerId === undefined ? null : tp(fullDist, answerId),
      top: {
        circuit: circuitDist.top(10).map((id) => tp(circuitDist, id)),
        full: fullDist.top(10).map((id) => tp(fullDist, id)),
      },
      attention: attentionOf(full.sites),
      lens,
      circuit: { attention: attentionOf(circuitRun.sites), lens: circuitLens },
    };
  });
