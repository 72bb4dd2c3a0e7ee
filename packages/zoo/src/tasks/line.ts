import { Either, ParseResult, Schema } from "effect";
import {
  findDuplicateKey,
  FORBIDDEN_KEYS_EXPECTED,
  forbiddenKeyPath,
  jsonPathString,
} from "@patchbay/core/text";
import type { MetricKind } from "@patchbay/core/engine";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import { answerToken, type PromptContext } from "./answers.ts";

/**
 * One line of a task file (the format is documented in ./FORMAT.md). Each of the four
 * quantities is given either as text (encoded with the model's tokenizer) or as ids:
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
  /**
   * The metric the task is for. When it reads `wrong` (logit-diff, prob-diff) every line must give
   * it; otherwise `wrong` may be left out (but then on every line). Without a metric, `wrong` is
   * optional, on every line or on none.
   */
  readonly metric?: MetricKind;
  /** The longest line accepted, in bytes (default MAX_LINE_BYTES, 1 MiB). */
  readonly maxLineBytes?: number;
  /** The largest file accepted, in bytes (default MAX_FILE_BYTES, 256 MiB). */
  readonly maxFileBytes?: number;
}

/** One example, checked: absolute positions; `wrong` null when the line gives none. */
export interface TaskExample {
  readonly clean: number[];
  readonly corrupted: number[];
  readonly positions: number[];
  readonly answers: number[];
  readonly wrong: number[] | null;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** Throws a TaskFileError naming the file, the line and `field`. */
export type Fail = (field: string, expected: string, found: string) => never;

const FIELDS = "only clean(_ids), corrupted(_ids), positions, answer(_ids), wrong(_ids), meta";

const decodeLine = Schema.decodeUnknownEither(TaskLine, { onExcessProperty: "error", errors: "first" });

/** JSON text → a TaskLine: one object, no key twice, only the known fields, each of its type. */
const readLine = (text: string, fail: Fail): TaskLine => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail("(line)", "one JSON object", `invalid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return fail("(line)", "one JSON object", show(raw));
  const twice = findDuplicateKey(text);
  if (twice !== null)
    return fail(jsonPathString(twice), "each key once per object", `${show(twice.at(-1))} given twice`);
  // JSON.parse makes "__proto__" an own key; anywhere in a line (meta too) such keys are refused
  const forbidden = forbiddenKeyPath(raw);
  if (forbidden !== null) return fail(forbidden, FORBIDDEN_KEYS_EXPECTED, "a reserved key");
  const r = decodeLine(raw);
  if (Either.isRight(r)) return r.right;
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(r.left);
  const path = issue?.path ?? [];
  const field =
    path.length === 0 ? "(line)" : path.map((p, i) => (i === 0 ? String(p) : `[${String(p)}]`)).join("");
  if (issue?._tag === "Unexpected") return fail(field, FIELDS, "an unknown field");
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
};

/** Parse and check one line. */
export const parseLine = (
  text: string,
  fail: Fail,
  tokenizer: Tokenizer | undefined,
  opts: ReadTaskOptions,
): TaskExample => {
  const line = readLine(text, fail);
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
  const bosOpts = opts.bos === undefined ? undefined : { bos: opts.bos };

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
    if (t === "") fail(name, `non-empty text (for a prompt of BOS alone, give ${name}_ids)`, '""');
    const encoded = needTokenizer(name).encode(t, bosOpts);
    if (encoded.length === 0) fail(name, "text of at least one token", show(t));
    if (vocab !== undefined) {
      const i = encoded.findIndex((id) => id >= vocab);
      if (i >= 0)
        fail(
          name,
          `text whose tokens are ids < ${vocab} (the vocabulary size)`,
          `token ${i} is id ${encoded[i]}: the tokenizer does not match the model`,
        );
    }
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

  const context: PromptContext = { ids: clean, text: line.clean ?? null, bos: opts.bos };
  const tokens = (name: "answer" | "wrong"): number[] | null => {
    const t = line[name];
    const ids = line[`${name}_ids`];
    if (t !== undefined && ids !== undefined)
      fail(name, `one of ${name} (text) or ${name}_ids`, `both ${name} and ${name}_ids`);
    const count = (field: string, n: number) => {
      if (n !== positions.length) fail(field, `${positions.length} (one per metric position)`, `${n}`);
    };
    if (ids !== undefined) {
      const out = typeof ids === "number" ? [ids] : ids;
      count(`${name}_ids`, out.length);
      return checkIds(`${name}_ids`, out);
    }
    if (t !== undefined) {
      const tok = needTokenizer(name);
      const texts = typeof t === "string" ? [t] : t;
      count(name, texts.length);
      return texts.map((s, i) => {
        const r = answerToken(tok, context, positions[i]!, s, `${name}_ids`);
        if (Either.isLeft(r))
          return fail(typeof t === "string" ? name : `${name}[${i}]`, r.left.expected, r.left.found);
        return checkIds(name, [r.right])[0]!;
      });
    }
    if (name === "wrong") return null;
    return fail(name, `${name} (text) or ${name}_ids, one per metric position`, "neither");
  };
  return { clean, corrupted, positions, answers: tokens("answer")!, wrong: tokens("wrong") };
};
