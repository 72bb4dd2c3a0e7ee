import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../testing/shared.ts";

/** `patchbay tokenize` as a user runs it: a child process, its stdout, stderr and exit code. */
const main = fileURLToPath(new URL("../main.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../../../../node_modules/.bin/tsx", import.meta.url));
const patchbay = (...args: string[]) => {
  const r = spawnSync(tsx, [main, ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

interface Out {
  tokenizer: { kind: string; vocabSize: number; bos: number | null };
  text: string;
  bos: boolean;
  ids: number[];
  tokens: {
    position: number;
    id: number;
    piece: string;
    start: number | null;
    end: number | null;
    text: string | null;
  }[];
}

const TEXT = "Once upon a time, Lily 😀";

describe("patchbay tokenize without a tokenizer", () => {
  it("a builtin: model without the zoo registered exits 1 with a ModelNotFoundError saying what to import", () => {
    // core's main has no builtin: source; with the zoo registered (packages/zoo/src/cli) it loads
    const r = patchbay("tokenize", "--model", "builtin:induction", "--text", "a");
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "ModelNotFoundError: builtin:induction: no model found; expected a registered source",
    );
    expect(r.err).toContain('import "@patchbay/zoo"');
  });
  it("a missing model, a flag it does not take and a bad --bos are errors", () => {
    expect(patchbay("tokenize", "--model", "/nonexistent/m", "--text", "a").err).toContain(
      "ModelNotFoundError",
    );
    const threads = patchbay("tokenize", "--model", "builtin:induction", "--text", "a", "--threads", "2");
    expect(threads.code).toBe(2);
    expect(threads.err).toContain("usage: patchbay tokenize");
    const bos = patchbay("tokenize", "--model", "builtin:induction", "--text", "a", "--bos", "yes");
    expect(bos.code).toBe(2);
    expect(bos.err).toContain(`--bos: "yes" is not one of true, false`);
  });
});

warnIfNoSharedModels(
  "cli/commands/tokenize.test.ts: patchbay tokenize on stories260K and the GPT-2 tokenizer",
);

describe.skipIf(!hasSharedModels)("patchbay tokenize on real tokenizers", () => {
  it("llama2.c (stories260K.bin + tok512.bin): BOS, ▁ pieces, byte tokens, code-point offsets", () => {
    const r = patchbay(
      "tokenize",
      "--model",
      sharedModelPath("stories260K", "stories260K.bin"),
      "--text",
      TEXT,
      "--json",
    );
    expect(r.code, r.err).toBe(0);
    const o = JSON.parse(r.out) as Out;
    expect(o.tokenizer).toMatchObject({ kind: "llama2c", vocabSize: 512, bos: 1 });
    expect(o.bos).toBe(true);
    expect(o.ids.slice(0, 8)).toEqual([1, 403, 407, 261, 378, 432, 317, 410]);
    expect(o.tokens.slice(0, 3)).toEqual([
      { position: 0, id: 1, piece: "\n<s>\n", start: 0, end: 0, text: "" },
      { position: 1, id: 403, piece: "▁Once", start: 0, end: 4, text: "Once" },
      { position: 2, id: 407, piece: "▁upon", start: 4, end: 9, text: " upon" },
    ]);
    // 😀 is four byte tokens: the first three cannot be placed, the fourth covers the character
    const bytes = o.tokens.slice(-4);
    expect(bytes.map((t) => t.piece)).toEqual(["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]);
    expect(bytes.map((t) => t.text)).toEqual([null, null, null, "😀"]);
    expect(bytes[3]).toMatchObject({ start: 23, end: 24 }); // code points, not UTF-16 units
    expect(o.tokens.map((t) => t.text ?? "").join("")).toBe(TEXT);
    const noBos = JSON.parse(
      patchbay(
        "tokenize",
        "--model",
        sharedModelPath("stories260K", "stories260K.bin"),
        "--text",
        TEXT,
        "--json",
        "--bos",
        "false",
      ).out,
    ) as Out;
    expect(noBos.bos).toBe(false);
    expect(noBos.ids).toEqual(o.ids.slice(1));
  });

  it("GGUF (stories260K.gguf): the same ids as the llama2.c file, as a table", () => {
    const r = patchbay(
      "tokenize",
      "--model",
      sharedModelPath("stories260K", "stories260K.gguf"),
      "--text",
      "Once upon",
    );
    expect(r.code, r.err).toBe(0);
    const lines = r.out
      .trim()
      .split("\n")
      .map((l) => l.trim());
    expect(lines[0]).toMatch(/^pos\s+id\s+piece\s+chars\s+text$/);
    expect(lines[1]).toMatch(/^0\s+1\s+"<s>"\s+0-0\s+""$/);
    expect(lines[2]).toMatch(/^1\s+403\s+"▁Once"\s+0-4\s+"Once"$/);
    expect(lines[3]).toMatch(/^2\s+407\s+"▁upon"\s+4-9\s+" upon"$/);
    expect(lines.at(-1)).toBe("3 tokens (gguf, vocabulary 512, BOS prepended)");
  });

  it("GPT-2 (tokenizer.json): Ġ pieces, no BOS, a split emoji placed on its last byte token", () => {
    const r = patchbay("tokenize", "--model", sharedModelPath("gpt2-tokenizer"), "--text", TEXT, "--json");
    expect(r.code, r.err).toBe(0);
    const o = JSON.parse(r.out) as Out;
    expect(o.tokenizer).toMatchObject({ kind: "tokenizer.json", vocabSize: 50257 });
    expect(o.bos).toBe(false);
    expect(o.ids).toEqual([7454, 2402, 257, 640, 11, 20037, 30325, 222]);
    expect(o.tokens.map((t) => t.piece)).toEqual(["Once", "Ġupon", "Ġa", "Ġtime", ",", "ĠLily", "ĠðŁĺ", "Ģ"]);
    expect(o.tokens.at(-2)).toMatchObject({ start: null, text: null });
    expect(o.tokens.at(-1)).toMatchObject({ start: 22, end: 24, text: " 😀" });
    expect(o.tokens.map((t) => t.text ?? "").join("")).toBe(TEXT);
  });

  it("--tokenizer overrides the model's own", () => {
    const r = patchbay(
      "tokenize",
      "--model",
      sharedModelPath("stories260K", "stories260K.bin"),
      "--tokenizer",
      sharedModelPath("gpt2-tokenizer"),
      "--text",
      "Hello world",
      "--json",
    );
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as Out).ids).toEqual([15496, 995]);
  });
});
