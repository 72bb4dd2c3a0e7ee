import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { Effect, Either } from "effect";
import { decodeUtf8Strict, describeInvalidUtf8 } from "@patchbay/core/text";
import { metricReads } from "@patchbay/core/engine";
import { TaskFileError } from "@patchbay/core/errors";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import type { Task } from "../registry/registry.ts";
import { type Fail, parseLine, type ReadTaskOptions, type TaskExample } from "./line.ts";

/** The longest task-file line read by default: 1 MiB (ReadTaskOptions.maxLineBytes raises it). */
export const MAX_LINE_BYTES = 1 << 20;
/** The largest task file read by default: 256 MiB (ReadTaskOptions.maxFileBytes raises it). */
export const MAX_FILE_BYTES = 256 << 20;

const MiB = (n: number): string => (n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : `${n} bytes`);

const limit = (file: string, name: "maxLineBytes" | "maxFileBytes", v: number | undefined, d: number) => {
  if (v === undefined) return d;
  if (!Number.isSafeInteger(v) || v < 1)
    throw new TaskFileError({
      file,
      line: 0,
      field: `(option ${name})`,
      expected: "an integer ≥ 1",
      found: String(v),
    });
  return v;
};

const fileError = (file: string, expected: string, found: string): TaskFileError =>
  new TaskFileError({ file, line: 0, field: "(file)", expected, found });

/** Adds examples one by one, keeping `wrong` on every line or on none (and on every line when the metric reads it). */
const collect = (file: string, opts: ReadTaskOptions) => {
  const task = {
    clean: [] as number[][],
    corrupted: [] as number[][],
    positions: [] as number[][],
    answers: [] as number[][],
    wrong: [] as number[][],
  };
  const needWrong = opts.metric !== undefined && metricReads(opts.metric).wrong;
  let first: { line: number; wrong: boolean } | null = null;
  return {
    add(e: TaskExample, line: number, fail: Fail): void {
      const has = e.wrong !== null;
      if (!has && needWrong)
        fail(
          "wrong",
          `wrong (text) or wrong_ids, one per metric position: the ${opts.metric} metric reads the competing token`,
          "neither",
        );
      if (first === null) first = { line, wrong: has };
      else if (first.wrong !== has)
        fail(
          "wrong",
          has
            ? `no wrong, as line ${first.line} (wrong is on every line or on none)`
            : `wrong (text) or wrong_ids, as line ${first.line} has (wrong is on every line or on none)`,
          has ? "wrong" : "neither",
        );
      task.clean.push(e.clean);
      task.corrupted.push(e.corrupted);
      task.positions.push(e.positions);
      task.answers.push(e.answers);
      if (e.wrong !== null) task.wrong.push(e.wrong);
    },
    done(): Task {
      if (task.clean.length === 0) throw fileError(file, "at least one example line", "none");
      const { clean, corrupted, positions, answers, wrong } = task;
      return first?.wrong === true
        ? { clean, corrupted, positions, answers, wrong }
        : { clean, corrupted, positions, answers };
    },
  };
};

/**
 * Parse task-file text (`file` names it in errors). Throws TaskFileError.
 *
 * Returns a Task `{ clean, corrupted, positions, answers, wrong? }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTaskFile } from "@patchbay/zoo";
 * const line = JSON.stringify({ clean_ids: [0, 1, 2], corrupted_ids: [0, 3, 2], positions: [2], answer_ids: [1] });
 * const task = parseTaskFile(`${line}\n`, "inline.jsonl");
 * assert.deepEqual(task.clean, [[0, 1, 2]]);
 * assert.deepEqual(task.answers, [[1]]);
 * ```
 */
export const parseTaskFile = (
  content: string,
  file: string,
  tokenizer?: Tokenizer,
  opts: ReadTaskOptions = {},
): Task => {
  const maxLine = limit(file, "maxLineBytes", opts.maxLineBytes, MAX_LINE_BYTES);
  const out = collect(file, opts);
  const lines = (content.startsWith("\uFEFF") ? content.slice(1) : content).split(/\r?\n/);
  lines.forEach((text, i) => {
    const fail: Fail = (field, expected, found) => {
      throw new TaskFileError({ file, line: i + 1, field, expected, found });
    };
    // 3 bytes per UTF-16 unit at most: only long lines need their exact byte count
    if (text.length * 3 > maxLine) {
      const bytes = Buffer.byteLength(text, "utf8");
      if (bytes > maxLine)
        fail(
          "(line)",
          `a line of at most ${MiB(maxLine)} (ReadTaskOptions.maxLineBytes raises the limit)`,
          `${bytes} bytes`,
        );
    }
    if (text.trim() === "") return;
    out.add(parseLine(text, fail, tokenizer, opts), i + 1, fail);
  });
  return out.done();
};

/** The file's bytes, refusing files past the size limit before reading them. */
const readBytes = (path: string, maxFile: number): Uint8Array => {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw fileError(path, "a readable JSONL file", e instanceof Error ? e.message : String(e));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fileError(path, "a readable JSONL file", "not a regular file");
    if (st.size > maxFile)
      throw fileError(
        path,
        `a file of at most ${MiB(maxFile)} (ReadTaskOptions.maxFileBytes raises the limit)`,
        `${st.size} bytes`,
      );
    const bytes = new Uint8Array(st.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return bytes.subarray(0, at);
  } catch (e) {
    if (e instanceof TaskFileError) throw e;
    throw fileError(path, "a readable JSONL file", e instanceof Error ? e.message : String(e));
  } finally {
    closeSync(fd);
  }
};

/**
 * Read a task file synchronously: strict UTF-8, bounded size. Throws TaskFileError.
 *
 * Returns a Task `{ clean, corrupted, positions, answers, wrong? }`.
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
export const readTaskFileSync = (path: string, tokenizer?: Tokenizer, opts: ReadTaskOptions = {}): Task => {
  const bytes = readBytes(path, limit(path, "maxFileBytes", opts.maxFileBytes, MAX_FILE_BYTES));
  const text = decodeUtf8Strict(bytes);
  if (Either.isLeft(text))
    throw new TaskFileError({
      file: path,
      line: text.left.line,
      field: "(line)",
      expected: "UTF-8 text",
      found: describeInvalidUtf8(text.left),
    });
  return parseTaskFile(text.right, path, tokenizer, opts);
};

/** Effect boundary: TaskFileError fails the effect; anything else (a bug) is a defect. */
export const typed = <A>(f: () => A): Effect.Effect<A, TaskFileError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f());
    } catch (e) {
      return e instanceof TaskFileError ? Effect.fail(e) : Effect.die(e);
    }
  });

/**
 * Read a task file: `{clean, corrupted, positions, answers, wrong?}` (as inductionTask returns).
 *
 * Returns a Task `{ clean, corrupted, positions, answers, wrong? }`.
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
export const readTaskFile = (
  path: string,
  tokenizer?: Tokenizer,
  opts: ReadTaskOptions = {},
): Effect.Effect<Task, TaskFileError> => typed(() => readTaskFileSync(path, tokenizer, opts));
