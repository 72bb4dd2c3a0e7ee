import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { loadTokenizer, textBefore, type Tokenizer, tokenSpans, visiblePiece } from "./index.ts";

warnIfNoSharedModels(
  "tokenizer/spans.test.ts: token spans on the llama2.c, GGUF, tokenizer.json and vocab+merges tokenizers",
);

describe.skipIf(!hasSharedModels)("token spans and visible pieces, every tokenizer family", () => {
  const dir = mkdtempSync(join(tmpdir(), "patchbay-spans-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const toks: [string, Tokenizer][] = [];
  beforeAll(async () => {
    // GPT-2 as vocab.json + merges.txt: the merges of the shared tokenizer.json, written out
    const gpt2 = sharedModelPath("gpt2-tokenizer");
    const merges = (
      JSON.parse(readFileSync(join(gpt2, "tokenizer.json"), "utf8")) as { model: { merges: string[] } }
    ).model.merges;
    writeFileSync(join(dir, "merges.txt"), `#version: 0.2\n${merges.join("\n")}\n`);
    writeFileSync(join(dir, "vocab.json"), readFileSync(join(gpt2, "vocab.json")));
    for (const p of [
      sharedModelPath("stories260K", "tok512.bin"),
      sharedModelPath("stories260K", "stories260K.gguf"),
      gpt2,
      dir,
    ]) {
      const tok = await Effect.runPromise(loadTokenizer(p));
      toks.push([tok.kind, tok]);
    }
  });

  it("the four families load", () => {
    expect(toks.map(([k]) => k)).toEqual(["llama2c", "gguf", "tokenizer.json", "gpt2-bpe"]);
  });

  it("pieces show their spaces: ▁ for SentencePiece (llama2.c files store a space), Ġ for GPT-2", () => {
    for (const [kind, tok] of toks) {
      const id = tok.encode(" Lily", { bos: false }).at(-1)!;
      expect(visiblePiece(tok, id), kind).toBe(kind === "llama2c" || kind === "gguf" ? "▁Lily" : "ĠLily");
    }
  });

  it("spans tile the text in order, each covering what its token decodes to (property)", () => {
    const text = fc
      .array(fc.constantFrom("Once", " upon", " a", " time", ",", " Lily", "  ", "é", "😀", "\n", "x"), {
        minLength: 1,
        maxLength: 10,
      })
      .map((ws) => ws.join(""));
    for (const [kind, tok] of toks) {
      fc.assert(
        fc.property(text, fc.boolean(), (s, bos) => {
          const ids = tok.encode(s, { bos });
          const spans = tokenSpans(tok, s, ids);
          expect(spans, `${kind} ${JSON.stringify(s)}`).not.toBeNull();
          const placed = spans!.filter((x): x is readonly [number, number] => x !== null);
          // the last token always ends the text; placed spans are contiguous from 0
          expect(spans!.at(-1)![1]).toBe(s.length);
          let at = 0;
          for (const [a, b] of placed) {
            expect(a).toBe(at);
            expect(b).toBeGreaterThanOrEqual(a);
            at = b;
          }
          // a token that is placed and not a byte piece decodes to its span (up to the dummy-prefix space)
          spans!.forEach((sp, i) => {
            if (sp === null || ids[i] === tok.bos) return;
            const piece = tok.decode([ids[i]!]);
            if (piece.includes("\uFFFD")) return;
            expect(piece.endsWith(s.slice(sp[0], sp[1])) || piece === s.slice(sp[0], sp[1])).toBe(true);
          });
          // textBefore agrees with the spans
          ids.forEach((_, k) => {
            const end = k === 0 ? 0 : spans![k - 1]?.[1];
            if (end !== undefined) expect(textBefore(tok, s, ids, k)).toBe(s.slice(0, end));
          });
        }),
        { numRuns: 60, seed: 7 },
      );
    }
  });

  it("text the ids do not spell gives null", () => {
    const [, tok] = toks[2]!;
    expect(tokenSpans(tok, "something else", tok.encode("Hello world"))).toBeNull();
    expect(textBefore(tok, "something else", tok.encode("Hello world"), 1)).toBeNull();
  });
});
