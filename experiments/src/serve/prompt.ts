import { maskFromEdges } from "@patchbay/circuits";
import { plan, runPlan } from "@patchbay/core/engine";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import type { HostTensor } from "@patchbay/core/tensor";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import { decodeResidual } from "@patchbay/readouts";
import { Effect } from "effect";
import type { LiveCell } from "./live.ts";

/**
 * One prompt of a cell's task, as the explorer's per-prompt view shows it:
 *   tokens     the clean and corrupted prompts, token by token (text from the model's tokenizer,
 *              else the ids)
 *   top        the next-token distribution at the metric's first position, top 10, under the
 *              current circuit (the edge-masked graph with its mask, one row) and under the full
 *              model, p = softmax(logits)
 *   attention  a head's pattern [query, key] on the clean prompt, full model (blocks.l.attn.pattern)
 *   lens       the logit lens along the residual stream: each block's resid_post decoded by the
 *              model's own head, W_U · LN_f(h), at that position: the top token and p(answer)
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
  readonly lens: readonly {
    readonly site: string;
    readonly top: TokenProb;
    readonly answer: number | null;
  }[];
}

const textOf = (tok: Tokenizer | null, id: number): string => {
  if (tok === null) return `#${id}`;
  try {
    return tok.decode([id]);
  } catch {
    return `#${id}`;
  }
};

/** softmax of row p of logits [1, P, V] (float64), and its top k. */
const distribution = (logits: HostTensor, p: number) => {
  const V = logits.shape[2]!;
  const row = logits.data.subarray(p * V, (p + 1) * V);
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
    // the circuit: one row of the edge-masked graph with the full logits
    const ablated = yield* setup.ablated;
    const per = ablated.data.length / ablated.shape[0]!;
    const circuitRun = yield* runPlan(
      setup.cache,
      setup.model,
      plan({ edges: { granularity: setup.layout.granularity }, logits: true }),
      [clean],
      {
        edges: {
          mask: {
            data: maskFromEdges(setup, inGraph),
            shape: [1, setup.layout.sources.length, setup.layout.destinations.length],
          },
          ablated: {
            data: ablated.data.slice(b * per, (b + 1) * per),
            shape: [1, ...ablated.shape.slice(1)],
          },
        },
      },
    );
    // the full model: logits, every block's resid_post, and the head's pattern
    const resid = Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.resid_post`);
    const pattern = head === null ? [] : [`blocks.${head.layer}.attn.pattern`];
    const full = yield* runPlan(setup.cache, setup.model, plan({ captures: [...resid, ...pattern] }), [
      clean,
    ]);
    const circuitDist = distribution(circuitRun.logits!, position);
    const fullDist = distribution(full.logits!, position);
    const lens = [];
    for (const site of resid) {
      const d = distribution(
        yield* decodeResidual(setup.cache, setup.model, full.sites.get(site)!, [clean]),
        position,
      );
      lens.push({ site, top: tp(d, d.top(1)[0]!), answer: answerId === undefined ? null : d.prob(answerId) });
    }
    let attention: PromptView["attention"] = null;
    if (head !== null) {
      const t = full.sites.get(pattern[0]!)!; // [1, H, P, P]
      const P = t.shape[2]!;
      const at = (q: number, k: number) => t.data[(head.head * P + q) * P + k]!;
      attention = {
        layer: head.layer,
        head: head.head,
        pattern: Array.from({ length: P }, (_, q) => Array.from({ length: P }, (_, k) => at(q, k))),
      };
    }
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
      attention,
      lens,
    };
  });
