import type { Effect } from "effect";
import { TaskFileError } from "@patchbay/core/errors";
import { writeFileAtomicSync } from "@patchbay/core/text";
import type { Task } from "../registry/registry.ts";
import { parseLine } from "./line.ts";
import { typed } from "./read.ts";

/**
 * A task as task-file text, in the ids form (one line per example, fields in the order
 * clean_ids, corrupted_ids, positions, answer_ids, wrong_ids; no wrong_ids when the task has no
 * `wrong`). Throws TaskFileError (naming `file` and the example's line) when the task is
 * inconsistent, so the file always reads back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTaskFile, inductionTask } from "@patchbay/zoo";
 *
 * const text = formatTaskFile(inductionTask(0, 2));
 * const lines = text.trim().split("\n");
 * assert.equal(lines.length, 2);
 * assert.deepEqual(Object.keys(JSON.parse(lines[0]!)), ["clean_ids", "corrupted_ids", "positions", "answer_ids", "wrong_ids"]);
 * ```
 */
export const formatTaskFile = (task: Task, file = "(task)"): string => {
  const n = task.clean.length;
  const out: string[] = [];
  if (n === 0)
    throw new TaskFileError({
      file,
      line: 0,
      field: "clean",
      expected: "at least one example",
      found: "none",
    });
  for (const k of ["corrupted", "positions", "answers", "wrong"] as const) {
    const rows = task[k];
    if (rows !== undefined && rows.length !== n)
      throw new TaskFileError({
        file,
        line: 0,
        field: k,
        expected: `${n} examples (as clean)`,
        found: `${rows.length}`,
      });
  }
  for (let i = 0; i < n; i++) {
    const line = {
      clean_ids: task.clean[i]!,
      corrupted_ids: task.corrupted[i]!,
      positions: task.positions[i]!,
      answer_ids: task.answers[i]!,
      ...(task.wrong !== undefined ? { wrong_ids: task.wrong[i]! } : {}),
    };
    const text = JSON.stringify(line);
    // the same checks as reading, so what we write is what we read
    parseLine(
      text,
      (field, expected, found) => {
        throw new TaskFileError({ file, line: i + 1, field, expected, found });
      },
      undefined,
      {},
    );
    out.push(text);
  }
  return `${out.join("\n")}\n`;
};

/**
 * Write a task file (atomically: a temp file beside it, then rename). Throws TaskFileError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { inductionTask, readTaskFileSync, writeTaskFileSync } from "@patchbay/zoo";
 * const file = join(mkdtempSync(join(tmpdir(), "task-")), "induction.jsonl");
 * const task = inductionTask(0, 3);
 * writeTaskFileSync(file, task);
 * const back = readTaskFileSync(file);
 * assert.deepEqual(back.clean, task.clean);
 * assert.deepEqual(back.wrong, task.wrong);
 * ```
 */
export const writeTaskFileSync = (path: string, task: Task): void => {
  const text = formatTaskFile(task, path);
  try {
    writeFileAtomicSync(path, text);
  } catch (e) {
    throw new TaskFileError({
      file: path,
      line: 0,
      field: "(file)",
      expected: "a writable path",
      found: e instanceof Error ? e.message : String(e),
    });
  }
};

/**
 * Write a task file (atomically: a temp file beside it, then rename), as an Effect failing with TaskFileError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { inductionTask, readTaskFile, writeTaskFile } from "@patchbay/zoo";
 * const file = join(mkdtempSync(join(tmpdir(), "task-")), "induction.jsonl");
 * const task = inductionTask(0, 3);
 * await Effect.runPromise(writeTaskFile(file, task));
 * const back = await Effect.runPromise(readTaskFile(file));
 * assert.deepEqual(back.clean, task.clean);
 * assert.deepEqual(back.wrong, task.wrong);
 * ```
 */
export const writeTaskFile = (path: string, task: Task): Effect.Effect<void, TaskFileError> =>
  typed(() => writeTaskFileSync(path, task));
