import type { Effect } from "effect";
import { attempt, ConfigError, InputError, TaskFileError, UnknownBuiltinError } from "@patchbay/core/errors";
import { type BuiltinOptions, listBuiltins, resolveBuiltin, type Task } from "../registry/index.ts";
import { writeTaskFileSync } from "./write.ts";

export interface TaskForOptions {
  /** Seed of the generator (deterministic given the seed). */
  readonly seed: number;
  /** Number of examples. */
  readonly n: number;
  /** Generator knobs (induction: blockLen, corrupt). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Model options, merged over the spec's (`builtin:induction?vocabSize=16` or {vocabSize: 16}). */
  readonly model?: BuiltinOptions;
}

/**
 * Builtins that have a task generator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinsWithTasks } from "@patchbay/zoo";
 *
 * assert.ok(builtinsWithTasks().includes("induction"));
 * ```
 */
export const builtinsWithTasks = (): string[] =>
  listBuiltins().filter((n) => resolveBuiltin(n).entry.task !== undefined);

/**
 * A builtin's task: `taskFor("induction", {seed: 0, n: 64})` or `taskFor("builtin:induction?vocabSize=16", …)`.
 * The generator sees the model's options, so the task fits the model. Throws UnknownBuiltinError
 * (also for a builtin without a generator, listing those that have one), ConfigError (a bad model
 * option), InputError (a bad seed / n / generator option).
 *
 * Returns a Task `{ clean, corrupted, positions, answers, wrong? }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskFor } from "@patchbay/zoo";
 *
 * const t = taskFor("builtin:induction?vocabSize=16", { seed: 0, n: 4, options: { blockLen: 5 } });
 * assert.equal(t.clean.length, 4);
 * assert.ok(t.clean.flat().every((id) => id < 16)); // the task fits the model's vocabulary
 * ```
 */
export const taskFor = (builtin: string, opts: TaskForOptions): Task => {
  const spec = resolveBuiltin(builtin, opts.model);
  const gen = spec.entry.task;
  if (gen === undefined)
    throw new UnknownBuiltinError({ builtin: `${spec.name} (task)`, available: builtinsWithTasks() });
  if (!Number.isSafeInteger(opts.seed))
    throw new InputError({ field: "seed", expected: "an integer", found: String(opts.seed) });
  if (!Number.isSafeInteger(opts.n) || opts.n < 1)
    throw new InputError({ field: "n", expected: "an integer ≥ 1", found: String(opts.n) });
  return gen(
    { seed: opts.seed, n: opts.n, ...(opts.options === undefined ? {} : { options: opts.options }) },
    spec.options,
  );
};

/**
 * CLI-facing: generate a builtin's task and write it as a JSONL task file (ids form) at `path`.
 * Returns the task and the number of lines written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, readFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { writeBuiltinTask } from "@patchbay/zoo";
 *
 * const file = join(mkdtempSync(join(tmpdir(), "task-")), "induction.jsonl");
 * const { lines } = await Effect.runPromise(writeBuiltinTask("induction", file, { seed: 0, n: 3 }));
 * assert.equal(lines, 3);
 * assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 3);
 * ```
 */
export const writeBuiltinTask = (
  builtin: string,
  path: string,
  opts: TaskForOptions,
): Effect.Effect<
  { readonly task: Task; readonly lines: number },
  TaskFileError | UnknownBuiltinError | InputError | ConfigError
> =>
  attempt(
    () => {
      const task = taskFor(builtin, opts);
      writeTaskFileSync(path, task);
      return { task, lines: task.clean.length };
    },
    TaskFileError,
    UnknownBuiltinError,
    InputError,
    ConfigError,
  );
