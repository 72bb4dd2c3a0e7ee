import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Effect, Either, ParseResult, Schema } from "effect";
import { TaskFileError } from "../../errors/errors.ts";
import type { Tokenizer } from "../../tokenizer/tokenizer.ts";
import type { Task } from "../registry/registry.ts";

/**
 * Task files: JSONL, one clean/corrupted example per line (the format is documented in
 * ./FORMAT.md). Each of the four quantities is given either as text (encoded with the model's
 * tokenizer) or as ids:
 *
 *   prompt pair    clean | clean_ids,  corrupted | corrupted_ids      (same token length)
 *   positions      positions (optional; default [-1] = the last token; negative counts from the end)
 *   answers        answer | answer_ids, wrong | wrong_ids            (one per metric position)
 *   meta           anything (ignored)
 */

const Id = Schema.Int.pipe(Schema.nonNegative());
const Ids = Schema.Array(Id);
const Texts = Schema.Union(Schema.String, Schema.Array(Schema.String));
const IdOrIds = Schema.Union(Id, Ids);

/** One line of a task file, as written (before tokenization and checks). */
export const TaskLine = Schema.Struct({
  clean: Schema.optional(Schema.String),
  clean_ids: Schema.optional(Ids),
  corrupted: Schema.optional(Schema.String),
  corrupted_ids: Schema.optional(Ids),
  positions: Schema.optional(Schema.Array(Schema.Int)),
  answer: Schema.optional(Texts),
  answer_ids: Schema.optional(IdOrIds),
  wrong: Schema.optional(Texts),
  wrong_ids: Schema.optional(IdOrIds),
  meta: Schema.optional(Schema.Unknown),
});
export type TaskLine = typeof TaskLine.Type;

export interface ReadTaskOptions {
  /** Prepend BOS to text prompts; default: the tokenizer's own default (llama-style yes, GPT-2 no). */
  readonly bos?: boolean;
  /** Check every id against this vocabulary size (default: the tokenizer's, when one is given). */
  readonly vocabSize?: number;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

type Fail = (field: string, expected: string, found: string) => never;

const decodeLine = Schema.decodeUnknownEither(TaskLine, { onExcessProperty: "error", errors: "first" });

/** Parse and check one line; `fail` throws a TaskFileError naming the file and line. */
const parseLine = (
  text: string,
  fail: Fail,
  tokenizer: Tokenizer | undefined,
  opts: ReadTaskOptions,
): { clean: number[]; corrupted: number[]; positions: number[]; answers: number[]; wrong: number[] } => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail("(line)", "one JSON object", `invalid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return fail("(line)", "one JSON object", show(raw));
  const r = decodeLine(raw);
  if (Either.isLeft(r)) {
    const [issue] = ParseResult.ArrayFormatter.formatErrorSync(r.left);
    const path = issue?.path ?? [];
    const field =
      path.length === 0 ? "(line)" : path.map((p, i) => (i === 0 ? String(p) : `[${String(p)}]`)).join("");
    if (issue?._tag === "Unexpected") {
      return fail(
        field,
        "only clean(_ids), corrupted(_ids), positions, answer(_ids), wrong(_ids), meta",
        "an unknown field",
      );
    }
    let value: unknown = raw;
    for (const p of path) value = (value as Record<PropertyKey, unknown>)?.[p];
    const expected: Record<string, string> = {
      clean: "a string",
      corrupted: "a string",
      clean_ids: "an array of token ids (integers ≥ 0)",
      corrupted_ids: "an array of token ids (integers ≥ 0)",
      positions: "an array of integers (negative counts from the end)",
      answer: "a string or an array of strings",
      wrong: "a string or an array of strings",
      answer_ids: "a token id or an array of token ids (integers ≥ 0)",
      wrong_ids: "a token id or an array of token ids (integers ≥ 0)",
    };
    return fail(field, expected[String(path[0])] ?? issue?.message ?? "a valid value", show(value));
  }
  const line = r.right;
  const vocab = opts.vocabSize ?? tokenizer?.vocabSize;
  const checkIds = (field: string, ids: readonly number[]): number[] => {
    if (vocab !== undefined)
      ids.forEach((id, i) => {
        if (id >= vocab) fail(`${field}[${i}]`, `a token id < ${vocab} (the vocabulary size)`, String(id));
      });
    return [...ids];
  };
  const needTokenizer = (field: string): Tokenizer =>
    tokenizer ??
    fail(field, `${field}_ids, or a tokenizer to encode text (readTaskFile(path, tokenizer))`, "text");

  const prompt = (name: "clean" | "corrupted"): number[] => {
    const t = line[name];
    const ids = line[`${name}_ids`];
    if (t !== undefined && ids !== undefined)
      fail(name, `one of ${name} (text) or ${name}_ids`, `both ${name} and ${name}_ids`);
    if (ids !== undefined) {
      if (ids.length === 0) fail(`${name}_ids`, "at least one token", "[]");
      return checkIds(`${name}_ids`, ids);
    }
    if (t === undefined) return fail(name, `${name} (text) or ${name}_ids`, "neither");
    const encoded = needTokenizer(name).encode(t, opts.bos === undefined ? undefined : { bos: opts.bos });
    if (encoded.length === 0) fail(name, "text of at least one token", show(t));
    return encoded;
  };
  const clean = prompt("clean");
  const corrupted = prompt("corrupted");
  if (corrupted.length !== clean.length) {
    const f = line.corrupted_ids !== undefined ? "corrupted_ids" : "corrupted";
    fail(
      f,
      `${clean.length} tokens, as many as clean (pairs are position-aligned)`,
      `${corrupted.length} tokens`,
    );
  }

  const given = line.positions ?? [-1];
  if (given.length === 0)
    fail("positions", "at least one metric position (omit the field for the last token)", "[]");
  const positions = given.map((p, i) => {
    const abs = p < 0 ? clean.length + p : p;
    if (abs < 0 || abs >= clean.length)
      fail(
        `positions[${i}]`,
        `a position in [−${clean.length}, ${clean.length}) (clean has ${clean.length} tokens)`,
        String(p),
      );
    return abs;
  });

  const tokens = (name: "answer" | "wrong"): number[] => {
    const t = line[name];
    const ids = line[`${name}_ids`];
    if (t !== undefined && ids !== undefined)
      fail(name, `one of ${name} (text) or ${name}_ids`, `both ${name} and ${name}_ids`);
    let out: number[];
    let field: string = `${name}_ids`;
    if (ids !== undefined) {
      out = checkIds(field, typeof ids === "number" ? [ids] : ids);
    } else if (t !== undefined) {
      field = name;
      const tok = needTokenizer(name);
      const texts = typeof t === "string" ? [t] : t;
      out = texts.map((s, i) => {
        const enc = tok.encode(s, { bos: false });
        if (enc.length !== 1) {
          const where = typeof t === "string" ? name : `${name}[${i}]`;
          const pieces = enc.map((id) => tok.idToToken(id));
          fail(
            where,
            `text that is exactly one token`,
            `${enc.length} tokens ${show(pieces)} for ${show(s)}`,
          );
        }
        return enc[0]!;
      });
    } else {
      return fail(name, `${name} (text) or ${name}_ids, one per metric position`, "neither");
    }
    if (out.length !== positions.length)
      fail(field, `${positions.length} (one per metric position)`, `${out.length}`);
    return out;
  };
  return { clean, corrupted, positions, answers: tokens("answer"), wrong: tokens("wrong") };
};

/** Parse task-file text (`file` names it in errors). Throws TaskFileError. */
export const parseTaskFile = (
  content: string,
  file: string,
  tokenizer?: Tokenizer,
  opts: ReadTaskOptions = {},
): Task => {
  const task: Task = { clean: [], corrupted: [], positions: [], answers: [], wrong: [] };
  const lines = content.split(/\r?\n/);
  lines.forEach((text, i) => {
    if (text.trim() === "") return;
    const fail: Fail = (field, expected, found) => {
      throw new TaskFileError({ file, line: i + 1, field, expected, found });
    };
    const e = parseLine(text, fail, tokenizer, opts);
    task.clean.push(e.clean);
    task.corrupted.push(e.corrupted);
    task.positions.push(e.positions);
    task.answers.push(e.answers);
    task.wrong.push(e.wrong);
  });
  if (task.clean.length === 0)
    throw new TaskFileError({
      file,
      line: 0,
      field: "(file)",
      expected: "at least one example line",
      found: "none",
    });
  return task;
};

/** Read a task file synchronously. Throws TaskFileError. */
export const readTaskFileSync = (path: string, tokenizer?: Tokenizer, opts: ReadTaskOptions = {}): Task => {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (e) {
    throw new TaskFileError({
      file: path,
      line: 0,
      field: "(file)",
      expected: "a readable JSONL file",
      found: e instanceof Error ? e.message : String(e),
    });
  }
  return parseTaskFile(content, path, tokenizer, opts);
};

/** Effect boundary: TaskFileError fails the effect; anything else (a bug) is a defect. */
const typed = <A>(f: () => A): Effect.Effect<A, TaskFileError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f());
    } catch (e) {
      return e instanceof TaskFileError ? Effect.fail(e) : Effect.die(e);
    }
  });

/** Read a task file: `{clean, corrupted, positions, answers, wrong}` (as inductionTask returns). */
export const readTaskFile = (
  path: string,
  tokenizer?: Tokenizer,
  opts: ReadTaskOptions = {},
): Effect.Effect<Task, TaskFileError> => typed(() => readTaskFileSync(path, tokenizer, opts));

/**
 * A task as task-file text, in the ids form (one line per example, fields in the order
 * clean_ids, corrupted_ids, positions, answer_ids, wrong_ids). Throws TaskFileError (naming
 * `file` and the example's line) when the task is inconsistent, so the file always reads back.
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
    if (task[k].length !== n)
      throw new TaskFileError({
        file,
        line: 0,
        field: k,
        expected: `${n} examples (as clean)`,
        found: `${task[k].length}`,
      });
  }
  for (let i = 0; i < n; i++) {
    const line = {
      clean_ids: task.clean[i]!,
      corrupted_ids: task.corrupted[i]!,
      positions: task.positions[i]!,
      answer_ids: task.answers[i]!,
      wrong_ids: task.wrong[i]!,
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
