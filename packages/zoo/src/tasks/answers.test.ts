import { thrownBy } from "../../../core/src/testing/exit.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTokenizer, type Tokenizer } from "@patchbay/core/tokenizer";
import { type MetricKind, plan, runPlan } from "@patchbay/core/engine";
import { openModel } from "@patchbay/core/runtime";
import { TaskFileError } from "@patchbay/core/errors";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../../core/src/testing/shared.ts";
import type { Task } from "../registry/index.ts";
import { parseTaskFile, readTaskFileSync } from "./index.ts";

/**
 * Text answers are tokenized in context: the answer is the token encode(prompt + answer) adds
 * after encode(prompt). On stories260K "L" after a prompt is the piece "L" (438) while alone it is
 * "▁L" (307): the reader used to take 307 silently; now it refuses and shows both.
 */

const dir = mkdtempSync(join(tmpdir(), "patchbay-task-answers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const file = (lines: readonly unknown[]): string => {
  const p = join(dir, `a${counter++}.jsonl`);
  writeFileSync(p, lines.map((l) => JSON.stringify(l)).join("\n"));
  return p;
};

const caught = (f: () => unknown): TaskFileError => thrownBy(f, TaskFileError);

const STORY = "Once upon a time, there was a little girl named";
const IOI = "When Mary and John went to the store, John gave a drink to";

warnIfNoSharedModels("zoo/tasks/answers.test.ts: text answers in context on stories260K and GPT-2");

describe.skipIf(!hasSharedModels)("text answers in context: stories260K (llama2.c tokenizer)", () => {
  let llama: Tokenizer;
  beforeAll(async () => {
    llama = await Effect.runPromise(loadTokenizer(sharedModelPath("stories260K", "tok512.bin")));
  });
  const enc = (s: string) => llama.encode(s, { bos: false });

  it('"L" is refused with the candidates in context and alone; " L" is the word-initial ▁L', () => {
    const inContext = llama.encode(`${STORY}L`).at(-1)!;
    const alone = enc("L");
    expect(alone).toHaveLength(1);
    expect(inContext).not.toBe(alone[0]);
    expect([inContext, alone[0]]).toEqual([438, 307]);
    const p = file([{ clean: STORY, corrupted: STORY, answer: "L", wrong: " T" }]);
    const e = caught(() => readTaskFileSync(p, llama));
    expect({ file: e.file, line: e.line, field: e.field }).toEqual({ file: p, line: 1, field: "answer" });
    expect(e.found).toBe(`"L" is [438 "L"] after the prompt but [307 "▁L"] alone`);
    expect(e.expected).toContain("answer_ids");
    // written as it follows the prompt, it is one token, the one "L" alone is
    const t = readTaskFileSync(file([{ clean: STORY, corrupted: STORY, answer: " L", wrong: " T" }]), llama);
    expect(t.answers).toEqual([[307]]);
    expect(t.wrong).toEqual([enc("T")]);
  });

  it("a multi-token answer and an answer that changes the prompt's tokens are refused, showing the ids", () => {
    const p = file([
      { clean: STORY, corrupted: STORY, answer: " T", wrong: " T" },
      { clean: STORY, corrupted: STORY, answer: [" girl"], wrong: " T" },
    ]);
    const e = caught(() => readTaskFileSync(p, llama));
    expect({ line: e.line, field: e.field }).toEqual({ line: 2, field: "answer[0]" });
    expect(e.found).toBe(
      `" girl" is 3 tokens after the prompt [298 "▁g", 315 "ir", 421 "l"] (alone [410 "▁", 298 "▁g", 315 "ir", 421 "l"])`,
    );
    // a prompt ending in a space: the answer's "▁" merges into it
    const q = file([{ clean: `${STORY} `, corrupted: `${STORY} `, answer: "Lily", wrong: " T" }]);
    const f = caught(() => readTaskFileSync(q, llama));
    expect(f.field).toBe("answer");
    expect(f.found).toMatch(
      /^"Lily" changes the prompt's own tokens when appended: from position 14, \[410 "▁"\] become \[317 "▁Lily"\]/,
    );
  });

  it("ids prompts (with or without BOS) and earlier metric positions get the same in-context tokens", () => {
    const withBos = llama.encode(STORY);
    const noBos = enc(STORY);
    const named = withBos.at(-1)!; // "▁named" follows "… little girl"
    for (const ids of [withBos, noBos]) {
      const t = readTaskFileSync(
        file([
          {
            clean_ids: ids,
            corrupted_ids: ids,
            positions: [-2, -1],
            answer: [" named", " L"],
            wrong: [" T", " T"],
          },
        ]),
        llama,
      );
      expect(t.answers).toEqual([[named, 307]]);
    }
    for (const bos of [true, false]) {
      const t = readTaskFileSync(
        file([
          {
            clean: STORY,
            corrupted: STORY,
            positions: [-2, -1],
            answer: [" named", " L"],
            wrong_ids: [1, 1],
          },
        ]),
        llama,
        { bos },
      );
      expect(t.answers).toEqual([[named, 307]]);
    }
  });

  it("ids the tokenizer cannot decode, and a tokenizer larger than the model, are TaskFileErrors", () => {
    // a model vocabulary padded past the tokenizer's: clean_ids may hold an id the tokenizer lacks
    const ids = [...llama.encode(STORY), 600];
    const p = file([{ clean_ids: ids, corrupted_ids: ids, answer: " L", wrong: " T" }]);
    const e = caught(() => readTaskFileSync(p, llama, { vocabSize: 640 }));
    expect({ field: e.field, expected: e.expected }).toMatchObject({ field: "answer" });
    expect(e.expected).toMatch(/^answer_ids here: /);
    // text prompts are checked against the model's vocabulary too
    const q = file([{ clean: STORY, corrupted: STORY, answer: " L", wrong: " T" }]);
    const f = caught(() => readTaskFileSync(q, llama, { vocabSize: 300 }));
    expect({ field: f.field, found: f.found }).toEqual({
      field: "clean",
      found: "token 1 is id 403: the tokenizer does not match the model",
    });
  });

  describe("on the model", () => {
    const model = () => sharedModelPath("stories260K", "stories260K.bin");
    const metricOf = (task: Task, kind: MetricKind) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const m = yield* openModel(model());
            const r = yield* runPlan(m.sessions, m, plan({ logits: false, metric: { kind } }), task.clean, {
              metric: {
                positions: task.positions,
                answers: task.answers,
                ...(task.wrong !== undefined ? { wrong: task.wrong } : {}),
              },
            });
            return [...r.metric!.perExample];
          }),
        ),
      );

    it('" L" gives the logit difference of answer_ids [307]; the literal "L" (438) would give another', async () => {
      const text = readTaskFileSync(
        file([{ clean: STORY, corrupted: STORY, answer: " L", wrong: " T" }]),
        llama,
      );
      const ids = parseTaskFile(
        JSON.stringify({ clean: STORY, corrupted: STORY, answer_ids: [307], wrong_ids: enc("T") }),
        "(ids)",
        llama,
      );
      const literal = { ...ids, answers: [[438]] };
      const [a] = await metricOf(text, "logit-diff");
      const [b] = await metricOf(ids, "logit-diff");
      const [c] = await metricOf(literal, "logit-diff");
      console.log(
        `stories260K logit diff after "${STORY}": ▁L − ▁T = ${a!.toFixed(3)}, L − ▁T = ${c!.toFixed(3)}`,
      );
      expect(a).toBe(b);
      expect(Math.abs(a! - c!)).toBeGreaterThan(0.1);
    });

    it("wrong omitted: logprob reads and runs; logit-diff is a TaskFileError naming wrong", async () => {
      const p = file([{ clean: STORY, corrupted: STORY, answer: " Lily" }]);
      const t = readTaskFileSync(p, llama, { metric: "logprob" });
      expect(t.wrong).toBeUndefined();
      const [lp] = await metricOf(t, "logprob");
      expect(lp).toBeLessThan(0);
      expect(lp).toBeGreaterThan(-2); // " Lily" is the model's likely continuation
      const e = caught(() => readTaskFileSync(p, llama, { metric: "logit-diff" }));
      expect({ line: e.line, field: e.field, found: e.found }).toEqual({
        line: 1,
        field: "wrong",
        found: "neither",
      });
    });
  });
});

describe.skipIf(!hasSharedModels)("text answers in context: GPT-2 (byte-level BPE, tokenizer.json)", () => {
  let gpt2: Tokenizer;
  beforeAll(async () => {
    gpt2 = await Effect.runPromise(loadTokenizer(sharedModelPath("gpt2-tokenizer")));
  });

  it('" Mary" is ĠMary; a prompt ending in a space is refused (the space would move into the answer)', () => {
    const t = readTaskFileSync(file([{ clean: IOI, corrupted: IOI, answer: " Mary", wrong: " John" }]), gpt2);
    expect(t.answers).toEqual([[5335]]);
    expect(t.wrong).toEqual([[1757]]);
    const e = caught(() =>
      readTaskFileSync(
        file([{ clean: `${IOI} `, corrupted: `${IOI} `, answer: "Mary", wrong: " John" }]),
        gpt2,
      ),
    );
    expect(e.field).toBe("answer");
    expect(e.found).toMatch(
      /changes the prompt's own tokens when appended: from position 14, \[220 "Ġ"\] become \[5335 "ĠMary"\]/,
    );
  });

  it("an answer without its space is taken literally when it is one token both ways (toMary → Mary)", () => {
    const t = readTaskFileSync(file([{ clean: IOI, corrupted: IOI, answer: "Mary", wrong: " John" }]), gpt2);
    expect(t.answers).toEqual([[gpt2.encode(`${IOI}Mary`).at(-1)!]]);
    expect(gpt2.idToToken(t.answers[0]![0]!)).toBe("Mary");
  });
});

describe.skipIf(!hasSharedModels)(
  "text answers: the accepted id is the last of encode(prompt + answer) (property)",
  () => {
    const toks: [string, Tokenizer][] = [];
    beforeAll(async () => {
      toks.push([
        "llama2c",
        await Effect.runPromise(loadTokenizer(sharedModelPath("stories260K", "tok512.bin"))),
      ]);
      toks.push(["gpt2", await Effect.runPromise(loadTokenizer(sharedModelPath("gpt2-tokenizer")))]);
    });

    const words = [
      "Once",
      "upon",
      "a",
      "time",
      "Lily",
      "girl",
      "named",
      "the",
      "to",
      "Mary",
      "L",
      "T",
      ",",
      ".",
      "é",
      "😀",
      "!",
    ];
    const prompt = fc
      .array(fc.tuple(fc.constantFrom("", " ", " ", "  "), fc.constantFrom(...words)), {
        minLength: 1,
        maxLength: 8,
      })
      .map((ws) =>
        ws
          .map(([s, w]) => s + w)
          .join("")
          .trimStart(),
      )
      .filter((s) => s !== "");
    const answer = fc
      .tuple(fc.constantFrom("", " ", "  "), fc.constantFrom(...words, "ly", "ir"))
      .map(([s, w]) => s + w);

    it("accepted ⇒ encode(prompt + answer) = encode(prompt) ++ [id]; refused ⇒ a TaskFileError on answer", () => {
      for (const [name, tok] of toks) {
        let accepted = 0;
        let refused = 0;
        fc.assert(
          fc.property(prompt, answer, (clean, a) => {
            const text = JSON.stringify({ clean, corrupted: clean, answer: a, wrong_ids: 0 });
            let task: Task;
            try {
              task = parseTaskFile(text, name, tok);
            } catch (e) {
              expect(e).toBeInstanceOf(TaskFileError);
              expect((e as TaskFileError).field).toBe("answer");
              refused++;
              return;
            }
            accepted++;
            const full = tok.encode(clean + a);
            expect(task.answers[0]).toEqual([full.at(-1)]);
            expect(full.slice(0, -1)).toEqual(tok.encode(clean));
          }),
          { numRuns: 300, seed: 13 },
        );
        console.log(`${name}: ${accepted} accepted, ${refused} refused of 300 random prompt/answer pairs`);
        expect(accepted).toBeGreaterThan(30);
        expect(refused).toBeGreaterThan(30);
      }
    });
  },
);
