import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** `patchbay tokenize` on a builtin, as a user runs it with the zoo registered: a child process. */
const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../../../node_modules/.bin/tsx", import.meta.url));
const patchbay = (...args: string[]) => {
  const r = spawnSync(tsx, [main, ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe("patchbay tokenize without a tokenizer", () => {
  it("a builtin with no tokenizer exits 1 with an InputError naming --model and what is expected", () => {
    const r = patchbay("tokenize", "--model", "builtin:induction", "--text", "a");
    expect(r.code).toBe(1);
    expect(r.err).toContain("InputError: --model: expected a model with a tokenizer beside or inside it (");
    expect(r.err).toContain("or --tokenizer PATH, found no tokenizer for builtin:induction");
  });
});
