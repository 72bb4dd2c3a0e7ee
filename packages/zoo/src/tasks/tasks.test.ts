import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit } from "effect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTokenizer, type Tokenizer } from "@patchbay/core/tokenizer";
import { TaskFileError, UnknownBuiltinError } from "@patchbay/core/errors";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../../core/src/testing/shared.ts";
import { inductionTask } from "../induction.ts";
import type { Task } from "../registry/index.ts";
import {
  formatTaskFile,
  parseTaskFile,
  readTaskFile,
  readTaskFileSync,
  taskFor,
  writeBuiltinTask,
  writeTaskFileSync,
} from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "patchbay-tasks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const file = (content: string): string => {
  const p = join(dir, `t${counter++}.jsonl`);
  writeFileSync(p, content);
  return p;
};

/** Random consistent tasks: 1–5 examples, sequences of 1–12 ids, 1–4 metric positions each. */
const arbTask: fc.Arbitrary<Task> = fc
  .array(
    fc.integer({ min: 1, max: 12 }).chain((len) =>
      fc.integer({ min: 1, max: 4 }).chain((k) =>
        fc.record({
          clean: fc.array(fc.nat({ max: 50_000 }), { minLength: len, maxLength: len }),
          corrupted: fc.array(fc.nat({ max: 50_000 }), { minLength: len, maxLength: len }),
          positions: fc.array(fc.nat({ max: len - 1 }), { minLength: k, maxLength: k }),
          answers: fc.array(fc.nat({ max: 50_000 }), { minLength: k, maxLength: k }),
          wrong: fc.array(fc.nat({ max: 50_000 }), { minLength: k, maxLength: k }),
        }),
      ),
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map((es) => ({
    clean: es.map((e) => e.clean),
    corrupted: es.map((e) => e.corrupted),
    positions: es.map((e) => e.positions),
    answers: es.map((e) => e.answers),
    wrong: es.map((e) => e.wrong),
  }));

describe("task files: ids form", () => {
  it("round trip: format → parse is the identity on random tasks (property)", () => {
    fc.assert(
      fc.property(arbTask, (task) => {
        expect(parseTaskFile(formatTaskFile(task), "(mem)")).toEqual(task);
      }),
      { numRuns: 200 },
    );
  });

  it("round trip through disk: writeTaskFile → readTaskFile (Effect and sync)", async () => {
    await fc.assert(
      fc.asyncProperty(arbTask, async (task) => {
        const p = join(dir, `rt${counter++}.jsonl`);
        writeTaskFileSync(p, task);
        expect(readFileSync(p, "utf8").trim().split("\n")).toHaveLength(task.clean.length);
        expect(readTaskFileSync(p)).toEqual(task);
        expect(await Effect.runPromise(readTaskFile(p))).toEqual(task);
      }),
      { numRuns: 25 },
    );
  });

  it("defaults and shorthands: positions default to the last token; negative positions count from the end; scalar ids", () => {
    const p = file(
      [
        `{"clean_ids": [5, 6, 7], "corrupted_ids": [5, 8, 7], "answer_ids": 9, "wrong_ids": [10]}`,
        "",
        `{"clean_ids": [1, 2, 3, 4], "corrupted_ids": [1, 2, 3, 5], "positions": [-1, 1], "answer_ids": [1, 2], "wrong_ids": [3, 4], "meta": {"note": "x"}}`,
      ].join("\n"),
    );
    expect(readTaskFileSync(p)).toEqual({
      clean: [
        [5, 6, 7],
        [1, 2, 3, 4],
      ],
      corrupted: [
        [5, 8, 7],
        [1, 2, 3, 5],
      ],
      positions: [[2], [3, 1]],
      answers: [[9], [1, 2]],
      wrong: [[10], [3, 4]],
    });
  });
});

describe("task files: builtin generators", () => {
  it("taskFor('induction') is inductionTask; writeBuiltinTask writes it and it reads back", async () => {
    expect(taskFor("induction", { seed: 3, n: 5 })).toEqual(inductionTask(3, 5));
    expect(
      taskFor("builtin:induction", { seed: 3, n: 5, options: { corrupt: "first", blockLen: 6 } }),
    ).toEqual(inductionTask(3, 5, { corrupt: "first", blockLen: 6 }));
    // the model's options reach the generator (vocabulary 16 → tokens < 16)
    const small = taskFor("builtin:induction?vocabSize=16", { seed: 1, n: 4, options: { blockLen: 5 } });
    expect(small).toEqual(inductionTask(1, 4, { vocabSize: 16, blockLen: 5 }));
    expect(Math.max(...small.clean.flat())).toBeLessThan(16);
    const p = join(dir, "induction.jsonl");
    const r = await Effect.runPromise(writeBuiltinTask("induction", p, { seed: 7, n: 12 }));
    expect(r.lines).toBe(12);
    expect(readTaskFileSync(p, undefined, { vocabSize: 32 })).toEqual(inductionTask(7, 12));
  });

  it("unknown builtins and bad requests are typed errors", async () => {
    expect(() => taskFor("nope", { seed: 0, n: 1 })).toThrow(UnknownBuiltinError);
    expect(() => taskFor("induction", { seed: 0, n: 0 })).toThrow(/n: expected an integer ≥ 1/);
    const exit = await Effect.runPromiseExit(
      writeBuiltinTask("nope", join(dir, "x.jsonl"), { seed: 0, n: 1 }),
    );
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("UnknownBuiltinError");
  });
});

/** Expect a TaskFileError naming the file, the line and the field. */
const expectTaskError = (f: () => unknown, path: string, line: number, field: string): TaskFileError => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected a TaskFileError at ${field}`).toBeInstanceOf(TaskFileError);
  const e = err as TaskFileError;
  expect({ file: e.file, line: e.line, field: e.field }).toEqual({ file: path, line, field });
  expect(e.message).toContain(line > 0 ? `${path}:${line}: ${field}:` : `${path}: ${field}:`);
  return e;
};

const GOOD = `{"clean_ids": [1, 2, 3], "corrupted_ids": [1, 4, 3], "answer_ids": [5], "wrong_ids": [6]}`;

describe("task files: every malformed line is a TaskFileError naming file, line and field", () => {
  // [description, bad line, field]
  const cases: [string, string, string][] = [
    ["invalid JSON", `{"clean_ids": [1, 2`, "(line)"],
    ["not an object", `[1, 2, 3]`, "(line)"],
    ["a JSON scalar", `42`, "(line)"],
    [
      "an unknown field",
      `{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": [1], "wrong_ids": [1], "answers": [1]}`,
      "answers",
    ],
    [
      "clean of the wrong type",
      `{"clean": 7, "corrupted_ids": [1], "answer_ids": [1], "wrong_ids": [1]}`,
      "clean",
    ],
    [
      "a negative id",
      `{"clean_ids": [1, -2], "corrupted_ids": [1, 1], "answer_ids": [1], "wrong_ids": [1]}`,
      "clean_ids[1]",
    ],
    [
      "a fractional id",
      `{"clean_ids": [1, 2], "corrupted_ids": [1, 2.5], "answer_ids": [1], "wrong_ids": [1]}`,
      "corrupted_ids[1]",
    ],
    [
      "ids as strings",
      `{"clean_ids": ["1"], "corrupted_ids": [1], "answer_ids": [1], "wrong_ids": [1]}`,
      "clean_ids[0]",
    ],
    [
      "both clean and clean_ids",
      `{"clean": "a", "clean_ids": [1], "corrupted_ids": [1], "answer_ids": [1], "wrong_ids": [1]}`,
      "clean",
    ],
    ["no clean prompt", `{"corrupted_ids": [1], "answer_ids": [1], "wrong_ids": [1]}`, "clean"],
    ["no corrupted prompt", `{"clean_ids": [1], "answer_ids": [1], "wrong_ids": [1]}`, "corrupted"],
    [
      "an empty prompt",
      `{"clean_ids": [], "corrupted_ids": [], "answer_ids": [1], "wrong_ids": [1]}`,
      "clean_ids",
    ],
    [
      "misaligned lengths",
      `{"clean_ids": [1, 2, 3], "corrupted_ids": [1, 2], "answer_ids": [1], "wrong_ids": [1]}`,
      "corrupted_ids",
    ],
    [
      "a position past the end",
      `{"clean_ids": [1, 2], "corrupted_ids": [1, 2], "positions": [0, 2], "answer_ids": [1, 1], "wrong_ids": [1, 1]}`,
      "positions[1]",
    ],
    [
      "a position before the start",
      `{"clean_ids": [1, 2], "corrupted_ids": [1, 2], "positions": [-3], "answer_ids": [1], "wrong_ids": [1]}`,
      "positions[0]",
    ],
    [
      "a fractional position",
      `{"clean_ids": [1, 2], "corrupted_ids": [1, 2], "positions": [0.5], "answer_ids": [1], "wrong_ids": [1]}`,
      "positions[0]",
    ],
    [
      "no positions",
      `{"clean_ids": [1, 2], "corrupted_ids": [1, 2], "positions": [], "answer_ids": [], "wrong_ids": []}`,
      "positions",
    ],
    [
      "fewer answers than positions",
      `{"clean_ids": [1, 2], "corrupted_ids": [1, 2], "positions": [0, 1], "answer_ids": [1], "wrong_ids": [1, 2]}`,
      "answer_ids",
    ],
    [
      "more wrong than positions",
      `{"clean_ids": [1, 2], "corrupted_ids": [1, 2], "answer_ids": [1], "wrong_ids": [1, 2]}`,
      "wrong_ids",
    ],
    ["no answer", `{"clean_ids": [1], "corrupted_ids": [1], "wrong_ids": [1]}`, "answer"],
    ["no wrong", `{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": [1]}`, "wrong"],
    [
      "answer_ids of the wrong type",
      `{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": "5", "wrong_ids": [1]}`,
      "answer_ids",
    ],
    [
      "both answer and answer_ids",
      `{"clean_ids": [1], "corrupted_ids": [1], "answer": "x", "answer_ids": [1], "wrong_ids": [1]}`,
      "answer",
    ],
    [
      "text without a tokenizer",
      `{"clean": "When Mary", "corrupted": "When John", "answer_ids": [1], "wrong_ids": [1]}`,
      "clean",
    ],
    [
      "answer text without a tokenizer",
      `{"clean_ids": [1], "corrupted_ids": [1], "answer": " Mary", "wrong_ids": [1]}`,
      "answer",
    ],
    [
      "an id outside the vocabulary",
      `{"clean_ids": [1, 99], "corrupted_ids": [1, 2], "answer_ids": [1], "wrong_ids": [1]}`,
      "clean_ids[1]",
    ],
    [
      "an answer outside the vocabulary",
      `{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": [1], "wrong_ids": [64]}`,
      "wrong_ids[0]",
    ],
  ];
  for (const [what, bad, field] of cases) {
    it(what, () => {
      // two good lines and a blank one first: the bad line is line 4
      const p = file([GOOD, GOOD, "", bad, GOOD].join("\n"));
      const e = expectTaskError(() => readTaskFileSync(p, undefined, { vocabSize: 64 }), p, 4, field);
      expect(e.expected.length).toBeGreaterThan(0);
    });
  }

  it("through the Effect API the error is a typed failure", async () => {
    const p = file(`${GOOD}\n{"clean_ids": [1]}\n`);
    const exit = await Effect.runPromiseExit(readTaskFile(p));
    expect(Exit.isFailure(exit)).toBe(true);
    const e = Exit.isFailure(exit) ? (exit.cause as { error?: unknown }).error : undefined;
    expect(e).toBeInstanceOf(TaskFileError);
    expect((e as TaskFileError).line).toBe(2);
  });

  it("an empty file and a missing file are errors on the file (line 0)", () => {
    const empty = file("\n\n");
    expectTaskError(() => readTaskFileSync(empty), empty, 0, "(file)");
    const missing = join(dir, "missing.jsonl");
    expectTaskError(() => readTaskFileSync(missing), missing, 0, "(file)");
  });

  it("writing an inconsistent task is an error naming the example's line", () => {
    const p = join(dir, "bad-write.jsonl");
    const task: Task = {
      clean: [[1, 2]],
      corrupted: [[1, 2]],
      positions: [[0, 5]],
      answers: [[1, 2]],
      wrong: [[1, 2]],
    };
    expectTaskError(() => writeTaskFileSync(p, task), p, 1, "positions[1]");
    expectTaskError(() => writeTaskFileSync(p, { ...task, wrong: [] }), p, 0, "wrong");
  });
});

warnIfNoSharedModels("zoo/tasks/tasks.test.ts: text task files through the GPT-2 and stories260K tokenizers");

describe.skipIf(!hasSharedModels)("task files: text through a real tokenizer", () => {
  let gpt2: Tokenizer;
  let llama: Tokenizer;
  beforeAll(async () => {
    gpt2 = await Effect.runPromise(loadTokenizer(sharedModelPath("gpt2-tokenizer")));
    llama = await Effect.runPromise(loadTokenizer(sharedModelPath("stories260K", "tok512.bin")));
  });

  const IOI = {
    clean: "When Mary and John went to the store, John gave a drink to",
    corrupted: "When Mary and John went to the store, Mary gave a drink to",
    answer: " Mary",
    wrong: " John",
  };

  it("GPT-2: an IOI line tokenizes; answers are single tokens at the last position", () => {
    const p = file(`${JSON.stringify(IOI)}\n`);
    const t = readTaskFileSync(p, gpt2);
    const clean = gpt2.encode(IOI.clean);
    expect(t.clean).toEqual([clean]);
    expect(t.corrupted).toEqual([gpt2.encode(IOI.corrupted)]);
    expect(t.positions).toEqual([[clean.length - 1]]);
    expect(t.answers).toEqual([gpt2.encode(" Mary")]);
    expect(t.wrong).toEqual([gpt2.encode(" John")]);
    expect(gpt2.decode(t.answers[0]!)).toBe(" Mary");
    // written back as ids, it reads back the same without a tokenizer
    const q = join(dir, "ioi-ids.jsonl");
    writeTaskFileSync(q, t);
    expect(readTaskFileSync(q)).toEqual(t);
  });

  it("GPT-2: several positions with an answer each; mixed text and ids", () => {
    const line = {
      clean: IOI.clean,
      corrupted: IOI.corrupted,
      positions: [-1, -2],
      answer: [" Mary", " to"],
      wrong_ids: gpt2.encode(" John drink"),
    };
    const t = readTaskFileSync(file(JSON.stringify(line)), gpt2);
    const n = gpt2.encode(IOI.clean).length;
    expect(t.positions).toEqual([[n - 1, n - 2]]);
    expect(t.answers).toEqual([[...gpt2.encode(" Mary"), ...gpt2.encode(" to")]]);
  });

  it("GPT-2: a multi-token answer names the file, line and field", () => {
    const p = file(`${JSON.stringify(IOI)}\n${JSON.stringify({ ...IOI, answer: [" Maryabellequin"] })}\n`);
    const e = expectTaskError(() => readTaskFileSync(p, gpt2), p, 2, "answer[0]");
    expect(e.expected).toMatch(/^text that continues the prompt as exactly one token/);
    expect(e.found).toMatch(/^" Maryabellequin" is [2-9] tokens after the prompt \[/);
    const q = file(JSON.stringify({ ...IOI, wrong: " Johnathonius" }));
    expectTaskError(() => readTaskFileSync(q, gpt2), q, 1, "wrong");
  });

  it("GPT-2: prompts of different token lengths are rejected (pairs are position-aligned)", () => {
    const p = file(
      JSON.stringify({ ...IOI, corrupted: "When Mary and John went to the store, Mary Ann gave a drink to" }),
    );
    expectTaskError(() => readTaskFileSync(p, gpt2), p, 1, "corrupted");
  });

  it("llama2.c tokenizer (stories260K): text prompts get the tokenizer's BOS unless bos: false", () => {
    const enc = (s: string) => llama.encode(s, { bos: false });
    // words that are one token in this 512-piece vocabulary; written as they follow the prompt
    const single = ["a", "the", "he", "she", "it", "and"].filter((w) => enc(w).length === 1);
    expect(single.length).toBeGreaterThanOrEqual(2);
    const line = {
      clean: "Once upon a time, Lily",
      corrupted: "Once upon a time, Lily",
      answer: ` ${single[0]}`,
      wrong: ` ${single[1]}`,
    };
    const p = file(JSON.stringify(line));
    const t = readTaskFileSync(p, llama);
    expect(llama.bos).not.toBeNull();
    expect(t.clean).toEqual([llama.encode(line.clean)]);
    expect(t.clean[0]![0]).toBe(llama.bos);
    expect(readTaskFileSync(p, llama, { bos: false }).clean).toEqual([enc(line.clean)]);
    // " a" after the prompt is the word-initial piece "▁a", which "a" alone encodes to
    expect(t.answers).toEqual([enc(single[0]!)]);
    expect(t.wrong).toEqual([enc(single[1]!)]);
    expect(readTaskFileSync(p, llama, { bos: false }).answers).toEqual([enc(single[0]!)]);
    const multi = file(JSON.stringify({ ...line, answer: " Once upon a time" }));
    expectTaskError(() => readTaskFileSync(multi, llama), multi, 1, "answer");
  });
});
