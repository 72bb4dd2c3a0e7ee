import { thrownBy } from "../../../core/src/testing/exit.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MetricKind, metricReads } from "@patchbay/core/engine";
import { TaskFileError } from "@patchbay/core/errors";
import {
  formatTaskFile,
  MAX_LINE_BYTES,
  parseTaskFile,
  readTaskFileSync,
  type ReadTaskOptions,
} from "./index.ts";

/**
 * Reading a task file is bounded and strict: invalid UTF-8, over-long lines and files, keys given
 * twice and `__proto__` keys are TaskFileErrors naming the file and line; `wrong` is required only
 * when the metric reads it.
 */

const dir = mkdtempSync(join(tmpdir(), "patchbay-task-read-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const file = (content: string | Uint8Array): string => {
  const p = join(dir, `r${counter++}.jsonl`);
  writeFileSync(p, content);
  return p;
};

const GOOD = `{"clean_ids": [1, 2, 3], "corrupted_ids": [1, 4, 3], "answer_ids": [5], "wrong_ids": [6]}`;
const NO_WRONG = `{"clean_ids": [1, 2, 3], "corrupted_ids": [1, 4, 3], "answer_ids": [5]}`;

const caught = (f: () => unknown): TaskFileError => thrownBy(f, TaskFileError);

const expectAt = (f: () => unknown, where: { file: string; line: number; field: string }): TaskFileError => {
  const e = caught(f);
  expect({ file: e.file, line: e.line, field: e.field }).toEqual(where);
  return e;
};

describe("task files are strict UTF-8", () => {
  it("an invalid byte is an error naming the file, the line and the byte column", () => {
    const enc = new TextEncoder();
    const bad = enc.encode(`{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": 1, "meta": "caf`);
    const bytes = new Uint8Array([
      ...enc.encode(`${GOOD}\n\n`),
      ...bad,
      0xe9, // Latin-1 "é": not UTF-8
      ...enc.encode(`"}\n${GOOD}\n`),
    ]);
    const p = file(bytes);
    const e = expectAt(() => readTaskFileSync(p), { file: p, line: 3, field: "(line)" });
    expect(e.expected).toBe("UTF-8 text");
    expect(e.found).toContain(`byte column ${bad.length + 1} `);
    expect(e.found).toContain("0xe9");
    expect(e.message).toMatch(
      new RegExp(
        `^${p}:3: \\(line\\): expected UTF-8 text, found invalid UTF-8 at byte column ${bad.length + 1} `,
      ),
    );
  });

  it("a UTF-8 byte-order mark and CRLF line ends are accepted", () => {
    const p = file(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(`${GOOD}\r\n${GOOD}\r\n`)]));
    expect(readTaskFileSync(p).clean).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
  });
});

describe("reading is bounded", () => {
  /** A valid line of exactly `n` bytes (padded in meta). */
  const lineOf = (n: number): string => {
    const head = `{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": 1, "meta": "`;
    return `${head}${"x".repeat(n - head.length - 2)}"}`;
  };

  it(`a line of ${MAX_LINE_BYTES} bytes is read; one byte more is an error naming the line`, () => {
    expect(Buffer.byteLength(lineOf(MAX_LINE_BYTES))).toBe(MAX_LINE_BYTES);
    expect(readTaskFileSync(file(`${lineOf(MAX_LINE_BYTES)}\n`)).clean).toEqual([[1]]);
    const p = file(`${NO_WRONG}\n${lineOf(MAX_LINE_BYTES + 1)}\n`);
    const e = expectAt(() => readTaskFileSync(p), { file: p, line: 2, field: "(line)" });
    expect(e.expected).toBe("a line of at most 1 MiB (ReadTaskOptions.maxLineBytes raises the limit)");
    expect(e.found).toBe(`${MAX_LINE_BYTES + 1} bytes`);
    // raising the limit reads it
    expect(readTaskFileSync(p, undefined, { maxLineBytes: MAX_LINE_BYTES + 1 }).clean).toHaveLength(2);
  });

  it("the byte count is of UTF-8, not of characters", () => {
    const line = `{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": 1, "meta": "${"é".repeat(40)}"}`;
    const bytes = Buffer.byteLength(line);
    expect(bytes).toBe(line.length + 40);
    const p = file(line);
    expect(readTaskFileSync(p, undefined, { maxLineBytes: bytes }).clean).toEqual([[1]]);
    expect(caught(() => readTaskFileSync(p, undefined, { maxLineBytes: bytes - 1 })).found).toBe(
      `${bytes} bytes`,
    );
  });

  it("a line of 10^7 ids is refused at once (before: parsed in ~16 s and 2.6 GB)", () => {
    const ids = "7,".repeat(10_000_000).slice(0, -1);
    const p = file(
      `${GOOD}\n{"clean_ids": [${ids}], "corrupted_ids": [${ids}], "answer_ids": 1, "wrong_ids": 2}\n`,
    );
    const t0 = performance.now();
    const e = expectAt(() => readTaskFileSync(p), { file: p, line: 2, field: "(line)" });
    const ms = performance.now() - t0;
    expect(e.found).toMatch(/^4\d{7} bytes$/);
    expect(ms).toBeLessThan(3000);
  });

  it("a file past maxFileBytes is refused before it is read (line 0, the file)", () => {
    const p = file(`${GOOD}\n`.repeat(20));
    const e = expectAt(() => readTaskFileSync(p, undefined, { maxFileBytes: 1000 }), {
      file: p,
      line: 0,
      field: "(file)",
    });
    expect(e.expected).toBe("a file of at most 1000 bytes (ReadTaskOptions.maxFileBytes raises the limit)");
    expect(e.found).toBe(`${(GOOD.length + 1) * 20} bytes`);
    expect(readTaskFileSync(p, undefined, { maxFileBytes: 10_000 }).clean).toHaveLength(20);
  });

  it("limits must be positive integers; a folder is not a task file", () => {
    const p = file(GOOD);
    for (const bad of [0, -1, 1.5, Number.NaN] as const) {
      expectAt(() => readTaskFileSync(p, undefined, { maxLineBytes: bad }), {
        file: p,
        line: 0,
        field: "(option maxLineBytes)",
      });
      expectAt(() => readTaskFileSync(p, undefined, { maxFileBytes: bad }), {
        file: p,
        line: 0,
        field: "(option maxFileBytes)",
      });
    }
    expectAt(() => readTaskFileSync(dir), { file: dir, line: 0, field: "(file)" });
  });
});

describe("keys: each once, no __proto__", () => {
  it("a field given twice is an error naming it (JSON.parse would keep the last silently)", () => {
    const p = file(
      `${GOOD}\n{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": [1], "answer_ids": [2], "wrong_ids": [1]}`,
    );
    const e = expectAt(() => readTaskFileSync(p), { file: p, line: 2, field: "answer_ids" });
    expect(e.found).toBe('"answer_ids" given twice');
    const q = file(
      `{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": [1], "meta": {"note": 1, "note": 2}}`,
    );
    expectAt(() => readTaskFileSync(q), { file: q, line: 1, field: "meta.note" });
  });

  it("__proto__ / constructor / prototype are refused anywhere in a line (meta too); Object.prototype is untouched", () => {
    const p = file(
      `{"__proto__": {"polluted": 1}, "clean_ids": [1], "corrupted_ids": [1], "answer_ids": [1]}`,
    );
    const e = expectAt(() => readTaskFileSync(p), { file: p, line: 1, field: "__proto__" });
    expect(e.expected).toContain("__proto__, constructor, prototype");
    const q = file(
      `{"clean_ids": [1], "corrupted_ids": [1], "answer_ids": [1], "meta": {"note": {"constructor": {"prototype": {"polluted": 1}}}}}`,
    );
    expectAt(() => readTaskFileSync(q), { file: q, line: 1, field: "meta.note.constructor" });
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("an empty text prompt is an error (not a prompt of BOS alone)", () => {
    const p = file(`{"clean": "", "corrupted_ids": [1], "answer_ids": [1]}`);
    const e = expectAt(() => readTaskFileSync(p), { file: p, line: 1, field: "clean" });
    expect(e.expected).toContain("clean_ids");
  });
});

describe("wrong is required only where the metric reads it", () => {
  const needs = MetricKind.literals.filter((k) => metricReads(k).wrong);
  const ignores = MetricKind.literals.filter((k) => !metricReads(k).wrong);

  it("the metrics that read wrong are logit-diff and prob-diff", () => {
    expect(needs).toEqual(["logit-diff", "prob-diff"]);
    expect(ignores).toEqual(["logprob", "prob", "cross-entropy", "kl"]);
  });

  it("without wrong: read for logprob, prob, cross-entropy, kl (and with no metric); a TaskFileError for logit-diff and prob-diff", () => {
    const p = file(`${NO_WRONG}\n${NO_WRONG}\n`);
    const expected = {
      clean: [
        [1, 2, 3],
        [1, 2, 3],
      ],
      corrupted: [
        [1, 4, 3],
        [1, 4, 3],
      ],
      positions: [[2], [2]],
      answers: [[5], [5]],
    };
    for (const metric of [undefined, ...ignores]) {
      const opts: ReadTaskOptions = metric === undefined ? {} : { metric };
      const t = readTaskFileSync(p, undefined, opts);
      expect(t, String(metric)).toEqual(expected);
      expect("wrong" in t).toBe(false);
    }
    for (const metric of needs) {
      const e = expectAt(() => readTaskFileSync(p, undefined, { metric }), {
        file: p,
        line: 1,
        field: "wrong",
      });
      expect(e.expected).toContain(`the ${metric} metric reads the competing token`);
      expect(e.found).toBe("neither");
    }
  });

  it("with wrong: kept for every metric (it is data)", () => {
    const p = file(`${GOOD}\n`);
    for (const metric of MetricKind.literals)
      expect(readTaskFileSync(p, undefined, { metric }).wrong, metric).toEqual([[6]]);
  });

  it("wrong on some lines only is an error naming the first line that differs", () => {
    const a = file(`${GOOD}\n\n${NO_WRONG}\n`);
    expect(
      expectAt(() => readTaskFileSync(a, undefined, { metric: "logprob" }), {
        file: a,
        line: 3,
        field: "wrong",
      }).expected,
    ).toContain("as line 1 has");
    const b = file(`${NO_WRONG}\n${GOOD}\n`);
    expect(expectAt(() => readTaskFileSync(b), { file: b, line: 2, field: "wrong" }).found).toBe("wrong");
  });

  it("a task without wrong is written without wrong_ids and reads back the same", () => {
    const t = parseTaskFile(`${NO_WRONG}\n`, "(mem)");
    const text = formatTaskFile(t);
    expect(text).not.toContain("wrong");
    expect(parseTaskFile(text, "(mem)")).toEqual(t);
  });
});
