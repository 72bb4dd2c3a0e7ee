import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { expandCells, loadExperiment } from "./load.ts";
import type { ExperimentFileError } from "./schema.ts";

const dir = mkdtempSync(join(tmpdir(), "patchbay-parse-"));
const write = (name: string, content: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const base = "model: builtin:induction\ntask: { n: 8 }\nmethod: { _tag: eap }\n";
const load = (p: string) => Effect.runSync(Effect.either(Effect.flatMap(loadExperiment(p), expandCells)));
const fails = (p: string): ExperimentFileError => {
  const r = load(p);
  if (Either.isRight(r)) throw new Error(`${p} was accepted`);
  expect(r.left._tag).toBe("ExperimentFileError");
  return r.left;
};

describe("reading an experiment file", () => {
  it("invalid UTF-8 is an error with file, line and byte column — never U+FFFD in a run", () => {
    const bytes = Buffer.concat([Buffer.from(`${base}name: caf`), Buffer.from([0xe9]), Buffer.from("\n")]);
    const e = fails(write("latin1.yaml", bytes));
    expect(e.file).toBe(`${join(dir, "latin1.yaml")}:4:10`);
    expect(e.field).toBe("(file)");
    expect(e.expected).toBe("UTF-8 text");
    expect(e.found).toBe("invalid UTF-8 at byte column 10 (byte 71 of the file: 0xe9)");
    // the same in JSON, and a surrogate encoded as UTF-8 (CESU) is no better
    const json = Buffer.concat([
      Buffer.from('{"model": "builtin:induction", "name": "'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('"}'),
    ]);
    expect(fails(write("cesu.json", json)).found).toBe(
      "invalid UTF-8 at byte column 41 (byte 40 of the file: 0xed 0xa0 0x80)",
    );
  });

  it("a UTF-8 byte order mark is accepted and stripped (YAML and JSON); the file hash is of the bytes", () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    for (const [name, text] of [
      ["bom.yaml", `${base}name: bom\n`],
      [
        "bom.json",
        JSON.stringify({ model: "builtin:induction", task: { n: 8 }, method: { _tag: "eap" }, name: "bom" }),
      ],
    ] as const) {
      const with_ = load(write(name, Buffer.concat([bom, Buffer.from(text)])));
      const without = load(write(`plain-${name}`, text));
      if (Either.isLeft(with_) || Either.isLeft(without)) throw new Error(`${name} was refused`);
      expect(with_.right.map((c) => c.specHash)).toEqual(without.right.map((c) => c.specHash));
    }
  });

  it("only a regular file within the size limit is read: a folder, a FIFO (which would block) and a huge file are errors", () => {
    const folder = join(dir, "folder.yaml");
    mkdirSync(folder);
    expect(fails(folder)).toMatchObject({ field: "(file)", found: "a folder" });
    const fifo = join(dir, "fifo.yaml");
    execFileSync("mkfifo", [fifo]);
    const t0 = performance.now();
    expect(fails(fifo)).toMatchObject({ field: "(file)", found: "a FIFO" });
    expect(performance.now() - t0).toBeLessThan(1000);
    const huge = fails(write("huge.yaml", `${base}description: "${"x".repeat(1_100_000)}"\n`));
    expect(huge.found).toBe(`${1_100_000 + base.length + 16} bytes`);
    expect(huge.expected).toBe("a file of at most 1,048,576 bytes (raise the limit with --max-file-bytes N)");
    expect(fails(join(dir, "absent.yaml")).found).toBe("ENOENT");
  });

  it("a union's members do not each add an issue: the most specific complaint, and only real extra issues counted", () => {
    // task is builtin | file: only the builtin form's complaint about n
    const task = fails(
      write("task-n.yaml", 'model: builtin:induction\ntask: { n: "x" }\nmethod: { _tag: eap }\n'),
    );
    expect([task.field, task.expected, task.found]).toEqual(["task.n", "number", '"x"']);
    // an optional field with a bad value: not also "expected undefined"
    const sel = fails(write("sel.yaml", `${base}selection: { _tag: top-n, n: "a" }\n`));
    expect([sel.field, sel.found]).toEqual(["selection.n", '"a"']);
    // readout data forms
    const data = fails(
      write(
        "data.yaml",
        "kind: readout\nmodel: builtin:induction\ndata: { task: { n: 0 } }\nmethod: { _tag: dla }\n",
      ),
    );
    expect([data.field, data.found]).toEqual(["data.task.n", "0"]);
    // two real mistakes: the second is counted
    const two = fails(
      write(
        "two.yaml",
        "kind: causal\ntask: { builtin: induction, n: -1 }\nmethod: { _tag: iia, alignment: 3 }\n",
      ),
    );
    expect(two.found).toBe("-1 (and 1 more issue)");
  });
});
