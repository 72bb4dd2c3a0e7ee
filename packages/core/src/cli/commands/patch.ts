import { Effect } from "effect";
import { InputError } from "../../errors/index.ts";
import { interchangePatch, plan, runPlan } from "../../engine/index.ts";
import { forward, type OpenModel, openModel, requireTokenizer } from "../../runtime/index.ts";
import { type Flags, intFlag, openOptions, required } from "../args.ts";

/**
 * `patchbay patch --model M --base TEXT --source TEXT --site S [--positions P] [--top-k K] [--json]`:
 * activation patching of one site from a source prompt into a base prompt, with the next-token
 * distributions of the base, source and patched runs. Positions are comma-separated indexes into
 * each prompt, negative ones counting from its end (−1 = last token), so prompts of different
 * lengths align by their ends; the default is every position, which needs equal lengths.
 */
const resolvePositions = (
  spec: string | undefined,
  baseLen: number,
  sourceLen: number,
): [number[], number[]] => {
  if (spec === undefined) {
    if (baseLen !== sourceLen) {
      throw new InputError({
        field: "--positions",
        expected: "positions to patch when base and source differ in length",
        found: `base ${baseLen} tokens, source ${sourceLen} tokens`,
      });
    }
    const all = Array.from({ length: baseLen }, (_, i) => i);
    return [all, all];
  }
  const raw = spec.split(",").map((s, i) => {
    const n = Number(s.trim());
    if (s.trim() === "" || !Number.isInteger(n))
      throw new InputError({ field: `--positions[${i}]`, expected: "an integer", found: JSON.stringify(s) });
    return n;
  });
  const at = (n: number, len: number, which: string, i: number) => {
    const p = n < 0 ? len + n : n;
    if (p < 0 || p >= len)
      throw new InputError({
        field: `--positions[${i}]`,
        expected: `a position of the ${which} prompt (${len} tokens)`,
        found: String(n),
      });
    return p;
  };
  return [raw.map((n, i) => at(n, baseLen, "base", i)), raw.map((n, i) => at(n, sourceLen, "source", i))];
};

/** The k most likely next tokens after the last position of `row` (logits [V]). */
const topK = (m: OpenModel, row: Float32Array, k: number) => {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of row) max = Math.max(max, x);
  let z = 0;
  for (const x of row) z += Math.exp(x - max);
  return Array.from(row.keys())
    .sort((a, b) => row[b]! - row[a]! || a - b)
    .slice(0, k)
    .map((id) => ({
      id,
      token: m.tokenizer?.idToToken(id) ?? String(id),
      prob: Math.exp(row[id]! - max) / z,
      logit: row[id]!,
    }));
};

export const patchCommand = (f: Flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const k = intFlag(f, "top-k", 10, 1);
      const site = required(f, "site");
      const model = yield* openModel(required(f, "model"), openOptions(f));
      const tok = yield* requireTokenizer(model);
      const base = tok.encode(required(f, "base"));
      const source = tok.encode(required(f, "source"));
      const [bp, sp] = resolvePositions(
        typeof f.positions === "string" ? f.positions : undefined,
        base.length,
        source.length,
      );
      const src = yield* forward(model.sessions, model, [source], [site]);
      const baseRun = yield* forward(model.sessions, model, [base]);
      const value = interchangePatch(
        [1, base.length, ...src.sites.get(site)!.shape.slice(2)],
        src.sites.get(site)!,
        [bp],
        [sp],
      );
      const patched = yield* runPlan(
        model.sessions,
        model,
        plan({ interventions: [{ _tag: "replace", target: { site, positions: [bp] } }] }),
        [base],
        { interventions: [{ value }] },
      );
      const V = model.config.vocabSize;
      const last = (data: Float32Array, n: number) => data.subarray((n - 1) * V, n * V);
      const result = {
        site,
        positions: { base: bp, source: sp },
        base: { text: f.base, top: topK(model, last(baseRun.logits.data, base.length), k) },
        source: { text: f.source, top: topK(model, last(src.logits.data, source.length), k) },
        patched: { top: topK(model, last(patched.logits!.data, base.length), k) },
      };
      if (f.json === true) {
        console.log(JSON.stringify(result, null, 1));
        return;
      }
      const show = (name: string, top: { token: string; prob: number }[]) =>
        console.log(
          `${name.padEnd(8)} ${top.map((t) => `${JSON.stringify(t.token)} ${t.prob.toFixed(3)}`).join("  ")}`,
        );
      console.log(
        `patching ${site} at base positions [${bp.join(", ")}] from source positions [${sp.join(", ")}]`,
      );
      show("base", result.base.top);
      show("source", result.source.top);
      show("patched", result.patched.top);
    }),
  );
