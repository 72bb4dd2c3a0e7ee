import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AtomicWriteFailure, writeFileAtomicSync } from "./atomic.ts";

const fresh = () => mkdtempSync(join(tmpdir(), "atomic-test-"));

describe("writeFileAtomicSync", () => {
  it("writes any bytes or text and leaves only the target in its folder", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 4096 }), fc.string({ unit: "grapheme" })), (data) => {
        const dir = fresh();
        const file = join(dir, "f.bin");
        writeFileSync(file, "old content");
        writeFileAtomicSync(file, data);
        const back = readFileSync(file);
        expect(back.equals(typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data))).toBe(
          true,
        );
        expect(readdirSync(dir)).toEqual(["f.bin"]);
      }),
      { numRuns: 40 },
    );
  });

  it("creates the folder only when asked", () => {
    const dir = fresh();
    expect(() => writeFileAtomicSync(join(dir, "a", "b.json"), "{}")).toThrow(AtomicWriteFailure);
    writeFileAtomicSync(join(dir, "a", "b.json"), "{}", { mkdir: true });
    expect(readFileSync(join(dir, "a", "b.json"), "utf8")).toBe("{}");
  });

  it("a failed rename names the step, keeps the old target and leaves no temporary file", () => {
    const dir = fresh();
    const target = join(dir, "busy");
    mkdirSync(join(target, "inside"), { recursive: true }); // a non-empty folder cannot be renamed over
    let failure: unknown;
    try {
      writeFileAtomicSync(target, "x");
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(AtomicWriteFailure);
    expect(failure).toMatchObject({ path: target, step: "renaming into place" });
    expect((failure as AtomicWriteFailure).message).toContain(target);
    expect(readdirSync(dir)).toEqual(["busy"]);
    expect(readdirSync(target)).toEqual(["inside"]);
  });

  it("a failed write names the step (the folder is a file)", () => {
    const dir = fresh();
    writeFileSync(join(dir, "plain"), "");
    expect(() => writeFileAtomicSync(join(dir, "plain", "x.json"), "{}")).toThrow(
      expect.objectContaining({ step: "writing", path: join(dir, "plain", "x.json") }),
    );
    expect(readdirSync(dir)).toEqual(["plain"]);
  });
});
