import type { Model } from "@patchbay/core/model";
import type { Alignment } from "../alignment/schema.ts";
import { fail } from "../model/errors.ts";
import type { CausalTask } from "../task/task.ts";
import { inductionAlignments, inductionCausalTask } from "./induction.ts";
import { linearToy } from "./linear.ts";
import { reverseCausalTask } from "./reverse.ts";

/**
 * Causal tasks by name, for experiment files (`task: {builtin: induction, options: {…}}`; induction, reverse, linear-toy): the
 * task, the network whose mechanism it describes, and named alignments (the true one and
 * deliberately wrong ones) to evaluate.
 */
export interface CausalBuiltin {
  readonly task: CausalTask;
  readonly network: Model;
  readonly alignments: Readonly<Record<string, Alignment>>;
}

type Options = Readonly<Record<string, unknown>>;

const intOption = (name: string, o: Options, key: string, min: number): number | undefined => {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min)
    fail(`causal task ${name}`, `options.${key}`, `an integer ≥ ${min}`, JSON.stringify(v));
  return v as number;
};

const checkKeys = (name: string, o: Options, allowed: readonly string[]): void => {
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      fail(
        `causal task ${name}`,
        `options.${k}`,
        `one of the options ${allowed.join(", ")}`,
        JSON.stringify(k),
      );
};

const builtins: Record<string, (o: Options) => CausalBuiltin> = {
  induction: (o) => {
    checkKeys("induction", o, ["vocabSize", "blockLen"]);
    const vocabSize = intOption("induction", o, "vocabSize", 4);
    const blockLen = intOption("induction", o, "blockLen", 3);
    const t = inductionCausalTask({
      ...(vocabSize !== undefined ? { vocabSize } : {}),
      ...(blockLen !== undefined ? { blockLen } : {}),
    });
    return { task: t.task, network: t.network(), alignments: inductionAlignments(t.vocabSize, t.blockLen) };
  },
  reverse: (o) => {
    checkKeys("reverse", o, ["maxLen", "minLen"]);
    const maxLen = intOption("reverse", o, "maxLen", 2);
    const minLen = intOption("reverse", o, "minLen", 1);
    const t = reverseCausalTask({
      ...(maxLen !== undefined ? { maxLen } : {}),
      ...(minLen !== undefined ? { minLen } : {}),
    });
    return { task: t.task, network: t.network, alignments: t.alignments };
  },
  "linear-toy": (o) => {
    checkKeys("linear-toy", o, ["dModel", "values", "scale", "seed"]);
    const dModel = intOption("linear-toy", o, "dModel", 4);
    const values = intOption("linear-toy", o, "values", 3);
    const seed = intOption("linear-toy", o, "seed", 0);
    const scale = o.scale;
    if (scale !== undefined && (typeof scale !== "number" || !(scale > 0)))
      fail("causal task linear-toy", "options.scale", "a positive number", JSON.stringify(scale));
    const t = linearToy({
      ...(dModel !== undefined ? { dModel } : {}),
      ...(values !== undefined ? { values } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(scale !== undefined ? { scale: scale as number } : {}),
    });
    const site = "blocks.0.resid_post";
    return {
      task: t.task,
      network: t.model,
      alignments: {
        X: [{ variable: "X", site, positions: ["last"], subspace: "full" }],
        Y: [{ variable: "Y", site, positions: ["last"], subspace: "full" }],
      },
    };
  },
};

/**
 * The names of the built-in causal tasks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causalBuiltinNames } from "@patchbay/causal";
 *
 * assert.deepEqual(causalBuiltinNames(), ["induction", "reverse", "linear-toy"]);
 * ```
 */
export const causalBuiltinNames = (): string[] => Object.keys(builtins);

/**
 * The causal task `name` (optionally written builtin:<name>) with its options.
 *
 * Returns `{ task, network, alignments }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causalBuiltin } from "@patchbay/causal";
 *
 * const b = causalBuiltin("builtin:linear-toy", { dModel: 8 });
 * assert.equal(b.network.config.dModel, 8);
 * assert.deepEqual(Object.keys(b.alignments), ["X", "Y"]);
 * assert.throws(() => causalBuiltin("nope"), /induction, reverse, linear-toy/);
 * ```
 */
export const causalBuiltin = (name: string, options: Options = {}): CausalBuiltin => {
  const key = name.startsWith("builtin:") ? name.slice("builtin:".length) : name;
  const make = builtins[key];
  if (make === undefined)
    return fail(
      "causal tasks",
      "task.builtin",
      `one of ${causalBuiltinNames().join(", ")}`,
      JSON.stringify(name),
    );
  return make(options);
};
