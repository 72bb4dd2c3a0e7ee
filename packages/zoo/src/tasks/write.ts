import { randomBytes } from "node:crypto";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Effect } from "effect";
import { TaskFileError } from "@patchbay/core/errors";
import type { Task } from "../registry/registry.ts";
import { parseLine } from "./line.ts";
import { typed } from "./read.ts";

/**
 * A task as task-file text, in the ids form (one line per example, fields in the order
 * clean_ids, corrupted_ids, positions, answer_ids, wrong_ids; no wrong_ids when the task has no
 * `wrong`). Throws TaskFileError (naming `file` and the example's line) when the task is
 * inconsistent, so the file always reads back.
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

/** Write a task file (atomically: a temp file beside it, then rename). Throws TaskFileError. */
export const writeTaskFileSync = (path: string, task: Task): void => {
  const text = formatTaskFile(task, path);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new TaskFileError({
      file: path,
      line: 0,
      field: "(file)",
      expected: "a writable path",
      found: e instanceof Error ? e.message : String(e),
    });
  }
};

export const writeTaskFile = (path: string, task: Task): Effect.Effect<void, TaskFileError> =>
  typed(() => writeTaskFileSync(path, task));
