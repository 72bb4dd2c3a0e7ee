import {
  attempt,
  ConfigError,
  InputError,
  type TaskFileError,
  UnknownBuiltinError,
} from "@patchbay/core/errors";
import type { MetricKind } from "@patchbay/core/engine";
import type { OpenModel } from "@patchbay/core/runtime";
import { isBuiltinPath, readTaskFile, type Task, taskFor } from "@patchbay/zoo";
import type { Effect } from "effect";
import { rejectUnknown } from "./options.ts";

/** A builtin's task generator, as an experiment file's `task: { n, seed, options }`. */
export interface GeneratedTask {
  /** Number of clean/corrupted pairs (default 32, as `patchbay circuit`). */
  readonly n?: number;
  /** Generator seed (default 0). */
  readonly seed?: number;
  /** Generator options (induction: corrupt, blockLen, …). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Whose generator: `builtin:<name>[?options]` (default: the model, when it is a builtin). */
  readonly builtin?: string;
}

/**
 * A circuit-discovery task: a JSONL task file's path (texts encoded with the model's tokenizer,
 * packages/zoo/src/tasks/FORMAT.md), a task in memory (`{ clean, corrupted, positions, answers,
 * wrong? }`, what `taskFor` returns), or a builtin's generator (`{ n, seed }`).
 */
export type TaskInput = string | Task | GeneratedTask;

const TASK_FIELDS = ["clean", "corrupted", "positions", "answers", "wrong"];
const GENERATOR_FIELDS = ["n", "seed", "options", "builtin"];

/** The task's examples, read or generated as `patchbay circuit` and experiment cells do. */
export const loadTask = (
  m: OpenModel,
  task: TaskInput,
  metric: MetricKind,
): Effect.Effect<Task, TaskFileError | InputError | UnknownBuiltinError | ConfigError> => {
  if (typeof task === "string")
    return readTaskFile(task, m.tokenizer ?? undefined, { vocabSize: m.config.vocabSize, metric });
  return attempt(
    () => {
      if ("clean" in task) {
        rejectUnknown(task, TASK_FIELDS, "task");
        return task;
      }
      rejectUnknown(task, GENERATOR_FIELDS, "task");
      const builtin = task.builtin ?? (isBuiltinPath(m.source) ? m.source : undefined);
      if (builtin === undefined)
        throw new InputError({
          field: "task",
          expected: `a task file or a task in memory for a model that is not a builtin (${m.source}), or task.builtin`,
          found: "a generator without a builtin",
        });
      return taskFor(builtin, {
        n: task.n ?? 32,
        seed: task.seed ?? 0,
        ...(task.options !== undefined ? { options: task.options } : {}),
      });
    },
    InputError,
    UnknownBuiltinError,
    ConfigError,
  );
};
