import type { HostTensor } from "@patchbay/core/tensor";
import { InputError } from "@patchbay/core/errors";
import { type ModelConfig, normals, type Weights } from "@patchbay/core/model";

/**
 * A small RASP-to-weights compiler at tracr's "craft" level (Lindner et al. 2023): the program's
 * variables are named blocks of the residual stream, and each RASP primitive is one attention head
 * or one group of MLP neurons whose weights are written exactly. Layer allocation is explicit (the
 * caller says which layer each primitive lives in); the rest — residual layout, d_head, d_mlp, the
 * 1/attnScale factor — is the compiler's job.
 *
 * Blocks (disjoint sets of axes, hence orthogonal):
 *   categorical  one axis per value, holding a one-hot (tracr's categorical encoding)
 *   numerical    one axis holding the value (tracr's numerical encoding)
 *   JUNK         8 axes written only by distractor heads; no primitive reads them
 *
 * Primitives (family "zoo", norm "none", ReLU MLPs, TransformerLens weight names):
 *   embedTokens / embedConstant / embedPositions   tokens, a constant-1 axis ("one"), indices
 *   aggregate   Select(query, key, score) + Aggregate(value): one head. Q/K give score(i, j)
 *               between query value i and key value j exactly (W_Q carries √d_head·score, since the
 *               codebase's scores are q·k·attnScale); without `score`, W_Q = W_K = 0 and the head
 *               averages uniformly over every position ≤ the query, BOS included (tracr's BOS
 *               anchor). The value map sends value i to an output category (categorical output) or
 *               to a number (numerical output: the head computes a mean).
 *   map         Map over a categorical input: one neuron per value, ReLU(onehot_i), writing the
 *               output category or number f(i).
 *   sequenceMap SequenceMap of two categorical inputs: one neuron per pair, ReLU(a_i + b_j − 1).
 *   discretise  a numerical input x, gated by a categorical g, to a categorical output f(x, g),
 *               exact on a known finite set of (x, f) points per g (tracr's numerical→categorical
 *               MLP, with the gate making it a SequenceMap(numerical, categorical)). Between
 *               consecutive points where f changes, and beyond the outermost points (where the output
 *               is "none", all zeros), a step clamp(a(x − b) + ½, 0, 1) = ReLU(a(x − b) + ½ − C(1 − g))
 *               − ReLU(a(x − b) − ½ − C(1 − g)) switches the output; the slope a puts every point at
 *               least twice the transition half-width from every breakpoint, and C switches the
 *               step off when the gate is off.
 *   unembed     a categorical block to logits: W_U[block + i, token(i)] = c.
 *   distractor  a seeded random head that reads the whole stream and writes only JUNK.
 */

export interface Block {
  readonly name: string;
  readonly kind: "categorical" | "numerical";
  readonly offset: number;
  readonly size: number;
}

export interface CraftOptions {
  readonly name: string;
  readonly vocabSize: number;
  readonly nCtx: number;
  readonly nLayers: number;
  readonly nHeads: number;
  /** Smallest d_head (default 1); the primitives may need more. */
  readonly minDHead?: number;
}

export interface AggregateSpec {
  readonly query?: Block;
  readonly key?: Block;
  /** Attention score between query value i and key value j; omitted: uniform (W_Q = W_K = 0). */
  readonly score?: (i: number, j: number) => number;
  readonly value: Block;
  readonly output: Block;
  /** Value i → output category (categorical output) or weight (numerical output); null: nothing. */
  readonly map: (i: number) => number | null;
}

export interface DiscretiseSpec {
  readonly input: Block;
  readonly gate: Block;
  readonly output: Block;
  /** For gate value g: the (x, output category | null) points the MLP must compute exactly. */
  readonly points: (g: number) => readonly (readonly [number, number | null])[];
}

type Entry = { readonly name: string; readonly idx: readonly number[]; readonly value: number };

const JUNK = 8;

const fail = (field: string, expected: string, found: string): never => {
  throw new InputError({ field, expected, found });
};

export interface Craft {
  readonly categorical: (name: string, size: number) => Block;
  readonly numerical: (name: string) => Block;
  readonly embedTokens: (block: Block, map?: (token: number) => number | null) => void;
  readonly embedConstant: (block: Block) => void;
  readonly embedPositions: (block: Block) => void;
  readonly aggregate: (layer: number, head: number, spec: AggregateSpec) => void;
  readonly map: (layer: number, input: Block, output: Block, f: (i: number) => number | null) => void;
  readonly sequenceMap: (
    layer: number,
    a: Block,
    b: Block,
    output: Block,
    f: (i: number, j: number) => number | null,
  ) => void;
  readonly discretise: (layer: number, spec: DiscretiseSpec) => void;
  readonly unembed: (block: Block, token: (i: number) => number | null, scale: number) => void;
  readonly distractor: (layer: number, head: number, seed: number) => void;
  readonly build: () => { readonly config: ModelConfig; readonly weights: Weights };
}

/**
 * A RASP program compiled by hand: declare blocks of the residual stream, place primitives in layers, then `build()` the Model `{ config, weights }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { craft } from "@patchbay/zoo";
 *
 * const c = craft({ name: "copy", vocabSize: 4, nCtx: 8, nLayers: 1, nHeads: 1 });
 * const tok = c.categorical("tok", 4);
 * const out = c.categorical("out", 4);
 * c.embedTokens(tok);
 * c.map(0, tok, out, (i) => (i + 1) % 4); // an MLP: token i → category i + 1
 * c.unembed(out, (i) => i, 10);
 * const model = c.build();
 * assert.equal(model.config.vocabSize, 4);
 * assert.equal(model.config.nLayers, 1);
 * ```
 */
export const craft = (o: CraftOptions): Craft => {
  let width = 0;
  let junk: Block | null = null;
  const blocks: Block[] = [];
  const entries: Entry[] = [];
  const usedHeads = new Set<string>();
  const distractors: { layer: number; head: number; seed: number }[] = [];
  const hidden = Array.from({ length: o.nLayers }, () => 0);
  let dHead = Math.max(1, o.minDHead ?? 1);

  const alloc = (name: string, kind: Block["kind"], size: number): Block => {
    if (blocks.some((b) => b.name === name)) fail("block", "a new block name", name);
    const b = { name, kind, offset: width, size };
    width += size;
    blocks.push(b);
    return b;
  };
  const set = (name: string, idx: readonly number[], value: number) => entries.push({ name, idx, value });
  const claim = (layer: number, head: number) => {
    if (layer < 0 || layer >= o.nLayers || head < 0 || head >= o.nHeads)
      fail("head", `a layer < ${o.nLayers} and a head < ${o.nHeads}`, `${layer}.${head}`);
    const k = `${layer}.${head}`;
    if (usedHeads.has(k)) fail("head", "a head not yet used", k);
    usedHeads.add(k);
  };
  const neuron = (layer: number) => {
    if (layer < 0 || layer >= o.nLayers) fail("layer", `a layer < ${o.nLayers}`, String(layer));
    return hidden[layer]!++;
  };
  /** Write value or category of `out` from hidden neuron / head dim: W[.., out axis]. */
  const writeOut = (out: Block, r: number | null, put: (axis: number, v: number) => void) => {
    if (r === null) return;
    if (out.kind === "numerical") {
      if (r !== 0) put(out.offset, r);
    } else {
      if (!Number.isInteger(r) || r < 0 || r >= out.size)
        fail(`output ${out.name}`, `a category in [0, ${out.size})`, String(r));
      put(out.offset + r, 1);
    }
  };

  return {
    categorical: (name, size) => alloc(name, "categorical", size),
    numerical: (name) => alloc(name, "numerical", 1),
    embedTokens: (block, map = (t) => t) => {
      for (let t = 0; t < o.vocabSize; t++) writeOut(block, map(t), (a, v) => set("embed.W_E", [t, a], v));
    },
    embedConstant: (block) => {
      for (let t = 0; t < o.vocabSize; t++) set("embed.W_E", [t, block.offset], 1);
    },
    embedPositions: (block) => {
      for (let p = 0; p < Math.min(o.nCtx, block.size); p++) set("pos_embed.W_pos", [p, block.offset + p], 1);
    },
    aggregate: (layer, head, s) => {
      claim(layer, head);
      const pre = `blocks.${layer}.attn`;
      if (s.score !== undefined) {
        if (s.query === undefined || s.key === undefined)
          fail("aggregate", "query and key with score", "none");
        const q = s.query!;
        const k = s.key!;
        dHead = Math.max(dHead, k.size);
        // score(i, j) = q_i·k_j·attnScale with k_j = e_j and q_i = √d_head·score(i, ·): filled in at build
        for (let i = 0; i < q.size; i++)
          for (let j = 0; j < k.size; j++) {
            const v = s.score(i, j);
            if (v !== 0) set(`${pre}.W_Q`, [head, q.offset + i, j], v);
          }
        for (let j = 0; j < k.size; j++) set(`${pre}.W_K`, [head, k.offset + j, j], 1);
      }
      dHead = Math.max(dHead, s.value.size);
      for (let i = 0; i < s.value.size; i++) {
        set(`${pre}.W_V`, [head, s.value.offset + i, i], 1);
        writeOut(s.output, s.map(i), (a, v) => set(`${pre}.W_O`, [head, i, a], v));
      }
    },
    map: (layer, input, output, f) => {
      for (let i = 0; i < input.size; i++) {
        const r = f(i);
        if (r === null || (output.kind === "numerical" && r === 0)) continue;
        const h = neuron(layer);
        set(`blocks.${layer}.mlp.W_in`, [input.offset + i, h], 1);
        writeOut(output, r, (a, v) => set(`blocks.${layer}.mlp.W_out`, [h, a], v));
      }
    },
    sequenceMap: (layer, a, b, output, f) => {
      for (let i = 0; i < a.size; i++)
        for (let j = 0; j < b.size; j++) {
          const r = f(i, j);
          if (r === null || (output.kind === "numerical" && r === 0)) continue;
          const h = neuron(layer);
          set(`blocks.${layer}.mlp.W_in`, [a.offset + i, h], 1);
          set(`blocks.${layer}.mlp.W_in`, [b.offset + j, h], 1);
          set(`blocks.${layer}.mlp.b_in`, [h], -1);
          writeOut(output, r, (ax, v) => set(`blocks.${layer}.mlp.W_out`, [h, ax], v));
        }
    },
    discretise: (layer, s) => {
      if (s.input.kind !== "numerical") fail("discretise.input", "a numerical block", s.input.name);
      if (s.output.kind !== "categorical") fail("discretise.output", "a categorical block", s.output.name);
      // pass 1: the points per gate value (sorted, deduplicated), the smallest half-gap, the range
      const perGate: (readonly [number, number | null])[][] = [];
      let half = 0.5;
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let g = 0; g < s.gate.size; g++) {
        const pts = [...s.points(g)].sort((x, y) => x[0] - y[0]);
        const uniq: (readonly [number, number | null])[] = [];
        for (const p of pts) {
          const last = uniq[uniq.length - 1];
          if (last !== undefined && last[0] === p[0]) {
            if (last[1] !== p[1]) fail("discretise.points", "one output per x", `two outputs at x = ${p[0]}`);
            continue;
          }
          if (last !== undefined) half = Math.min(half, (p[0] - last[0]) / 2);
          uniq.push(p);
        }
        perGate.push(uniq);
        if (uniq.length > 0) {
          lo = Math.min(lo, uniq[0]![0]);
          hi = Math.max(hi, uniq[uniq.length - 1]![0]);
        }
      }
      // every point is ≥ half from every breakpoint; the step's transition is ±half/2 wide
      const a = 1 / half;
      const C = a * (hi - lo + 2 * half + 1) + 1;
      const pre = `blocks.${layer}.mlp`;
      perGate.forEach((uniq, g) => {
        if (uniq.every((p) => p[1] === null)) return;
        const breaks: { at: number; before: number | null; after: number | null }[] = [
          { at: uniq[0]![0] - half, before: null, after: uniq[0]![1] },
        ];
        for (let i = 1; i < uniq.length; i++)
          if (uniq[i]![1] !== uniq[i - 1]![1])
            breaks.push({
              at: (uniq[i - 1]![0] + uniq[i]![0]) / 2,
              before: uniq[i - 1]![1],
              after: uniq[i]![1],
            });
        breaks.push({ at: uniq[uniq.length - 1]![0] + half, before: uniq[uniq.length - 1]![1], after: null });
        for (const br of breaks) {
          if (br.before === br.after) continue;
          // step(x ≥ at) = ReLU(a(x − at) + ½ − C(1 − g)) − ReLU(a(x − at) − ½ − C(1 − g)); the two
          // biases are a float32 base ± ½, both exact, so the pair's difference saturates at exactly 1
          const base = Math.fround(-a * br.at - C);
          for (const [shift, sign] of [
            [0.5, 1],
            [-0.5, -1],
          ] as const) {
            const h = neuron(layer);
            set(`${pre}.W_in`, [s.input.offset, h], a);
            set(`${pre}.W_in`, [s.gate.offset + g, h], C);
            set(`${pre}.b_in`, [h], base + shift);
            writeOut(s.output, br.after, (ax, v) => set(`${pre}.W_out`, [h, ax], sign * v));
            writeOut(s.output, br.before, (ax, v) => set(`${pre}.W_out`, [h, ax], -sign * v));
          }
        }
      });
    },
    unembed: (block, token, scale) => {
      for (let i = 0; i < block.size; i++) {
        const t = token(i);
        if (t !== null) set("unembed.W_U", [block.offset + i, t], scale);
      }
    },
    distractor: (layer, head, seed) => {
      claim(layer, head);
      if (junk === null) junk = alloc("JUNK", "categorical", JUNK);
      distractors.push({ layer, head, seed });
    },
    build: () => {
      const d = width;
      const dh = dHead;
      const maxHidden = Math.max(0, ...hidden);
      const dMlp = maxHidden > 0 ? maxHidden : null;
      const config: ModelConfig = {
        name: o.name,
        family: "zoo",
        dModel: d,
        nLayers: o.nLayers,
        nHeads: o.nHeads,
        nKvHeads: o.nHeads,
        dHead: dh,
        dMlp,
        gatedMlp: false,
        act: "relu",
        vocabSize: o.vocabSize,
        nCtx: o.nCtx,
        positional: "learned",
        rotary: null,
        norm: "none",
        normEps: 1e-5,
        parallelResidual: false,
        attnScale: 1 / Math.sqrt(dh),
      };
      const sigma = Math.sqrt(dh);
      const w = new Map<string, HostTensor>();
      const add = (name: string, shape: number[]) =>
        w.set(name, { data: new Float32Array(shape.reduce((x, y) => x * y, 1)), shape });
      add("embed.W_E", [o.vocabSize, d]);
      add("pos_embed.W_pos", [o.nCtx, d]);
      for (let l = 0; l < o.nLayers; l++) {
        for (const n of ["W_Q", "W_K", "W_V"]) add(`blocks.${l}.attn.${n}`, [o.nHeads, d, dh]);
        add(`blocks.${l}.attn.W_O`, [o.nHeads, dh, d]);
        if (dMlp !== null) {
          add(`blocks.${l}.mlp.W_in`, [d, dMlp]);
          add(`blocks.${l}.mlp.b_in`, [dMlp]);
          add(`blocks.${l}.mlp.W_out`, [dMlp, d]);
        }
      }
      add("unembed.W_U", [d, o.vocabSize]);
      for (const e of entries) {
        const t = w.get(e.name)!;
        let flat = 0;
        e.idx.forEach((i, k) => {
          flat = flat * t.shape[k]! + i;
        });
        t.data[flat] = t.data[flat]! + (e.name.endsWith(".attn.W_Q") ? sigma * e.value : e.value);
      }
      for (const { layer, head, seed } of distractors) {
        const j = junk!;
        // one stream per (seed, layer, head, matrix)
        const draw = (k: number, n: number) =>
          normals(
            (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) +
              Math.imul((layer * o.nHeads + head) * 4 + k + 1, 0x632be5ab)) >>>
              0,
            n,
          );
        for (const [k, n] of (["W_Q", "W_K", "W_V"] as const).entries()) {
          const z = draw(k, d * dh);
          const std = n === "W_V" ? 1 : 1.5;
          w.get(`blocks.${layer}.attn.${n}`)!.data.set(
            z.map((x) => std * x),
            head * d * dh,
          );
        }
        const z = draw(3, dh * JUNK);
        const WO = w.get(`blocks.${layer}.attn.W_O`)!.data;
        for (let r = 0; r < dh; r++)
          for (let i = 0; i < JUNK; i++)
            WO[(head * dh + r) * d + j.offset + i] = z[r * JUNK + i]! / Math.sqrt(dh);
      }
      return { config, weights: w };
    },
  };
};
