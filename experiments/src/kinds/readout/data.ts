import { InputError } from "@patchbay/core/errors";
import type { OpenModel } from "@patchbay/core/runtime";
import { type Task, taskFor } from "@patchbay/zoo";
import {
  happySadData,
  inductionSteeringData,
  type ProbeData,
  prevTokenData,
  type SteeringData,
} from "@patchbay/readouts";
import type { ReadoutCell } from "./data-form.ts";

/**
 * A readout cell's dataset resolved against its opened model: a builtin task, texts through the
 * model's tokenizer, or one of the readouts package's built-in datasets (whose n, seed and options
 * the experiment schema has checked: only what each dataset reads can be given), and the metric
 * slots the methods that score a next token read from it.
 */

/** The resolved data: prompts (every method can read them) and what the richer methods need. */
export interface Dataset {
  /** [n][len] token ids */
  readonly prompts: readonly (readonly number[])[];
  /** a builtin task (input attribution, DLA, steering) */
  readonly task: Task | null;
  /** probing / erasure labels */
  readonly probe: ProbeData | null;
  /** steering contrasts and targets */
  readonly steering: SteeringData | null;
}

const intList = (v: unknown, field: string): number[] | undefined => {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0))
    throw new InputError({ field, expected: "a list of token ids", found: JSON.stringify(v) });
  return v as number[];
};

const intOpt = (v: unknown, field: string, dflt: number): number => {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < 0)
    throw new InputError({ field, expected: "a non-negative integer", found: JSON.stringify(v) });
  return v as number;
};

/** Resolve the spec's data against the opened model (tokenizer, vocabulary). */
export const datasetOf = (spec: ReadoutCell, model: OpenModel): Dataset => {
  const d = spec.data;
  const V = model.config.vocabSize;
  if (d.kind === "task") {
    const task = taskFor(d.builtin, { seed: d.seed, n: d.n, options: d.options });
    return { prompts: task.clean, task, probe: null, steering: null };
  }
  if (d.kind === "texts") {
    const tok = model.tokenizer;
    if (tok === null)
      throw new InputError({
        field: "data.texts",
        expected: "a model with a tokenizer (e.g. stories260K, a HF folder); builtins have none",
        found: `${model.config.name} without a tokenizer`,
      });
    return { prompts: d.texts.map((t) => tok.encode(t)), task: null, probe: null, steering: null };
  }
  const o = d.options;
  switch (d.example) {
    case "prev-token": {
      const probe = prevTokenData({
        seed: d.seed,
        prompts: d.n,
        length: intOpt(o.length, "data.options.length", 16),
        vocabSize: intOpt(o.vocabSize, "data.options.vocabSize", V),
      });
      return { prompts: probe.prompts, task: null, probe, steering: null };
    }
    case "induction-steering": {
      const a = intOpt(o.a, "data.options.a", 5);
      const b = intOpt(o.b, "data.options.b", 6);
      const others = intList(o.others, "data.options.others") ?? [10, 11, 12, 13, 14, 15, 16, 17];
      for (const [f, t] of [
        ["a", a],
        ["b", b],
        ...others.map((x, i) => [`others[${i}]`, x] as const),
      ] as const)
        if (t >= V)
          throw new InputError({
            field: `data.options.${f}`,
            expected: `a token id below the model's ${V}`,
            found: String(t),
          });
      const steering = inductionSteeringData(a, b, others);
      return { prompts: steering.targets, task: null, probe: null, steering };
    }
    case "happy-sad": {
      const tok = model.tokenizer;
      if (tok === null)
        throw new InputError({
          field: "data.example",
          expected: "happy-sad on a model with a tokenizer (e.g. stories260K)",
          found: `${model.config.name} without a tokenizer`,
        });
      const steering = happySadData(tok);
      return { prompts: steering.targets, task: null, probe: null, steering };
    }
  }
};

/** What a method that needs metric slots reads: the task's, else next-token on the prompts. */
export const slotsOf = (data: Dataset) => {
  const t = data.task;
  if (t !== null)
    return {
      prompts: t.clean,
      positions: t.positions,
      answers: t.answers,
      wrong: t.wrong as readonly (readonly number[])[] | undefined,
      baseline: t.corrupted as readonly (readonly number[])[] | undefined,
    };
  // next token: the prompt without its last token, the last token the answer
  const kept = data.prompts.filter((ids) => ids.length >= 2);
  if (kept.length === 0)
    throw new InputError({
      field: "data",
      expected: "prompts of at least two tokens (the last is the answer)",
      found: "none",
    });
  return {
    prompts: kept.map((ids) => ids.slice(0, -1)),
    positions: kept.map((ids) => [ids.length - 2]),
    answers: kept.map((ids) => [ids.at(-1)!]),
    wrong: undefined,
    baseline: undefined,
  };
};

/** The task's clean answer at metric position q of example i, when q is one of its metric positions. */
export const expectedAt = (t: Task, i: number, q: number): { readonly expected?: number } => {
  const j = t.positions[i]!.indexOf(q);
  return j >= 0 ? { expected: t.answers[i]![j]! } : {};
};
