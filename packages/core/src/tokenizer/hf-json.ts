import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { InputError, TokenizerError } from "../errors/errors.ts";
import { readRegularFile } from "../weights/bytes.ts";
import { bosPrefix, checkId, checkIds, type EncodeOptions, type Tokenizer } from "./tokenizer.ts";

/**
 * A Hugging Face `tokenizer.json` (with `tokenizer_config.json` when it sits beside), run by
 * @huggingface/tokenizers. Choices made for research use:
 * - encode never lets the post-processor add special tokens; BOS is prepended by us when asked, and
 *   by default exactly when the file's post-processor would have added it (or `add_bos_token` says so).
 * - BOS and EOS are the tokens tokenizer_config.json names (`bos_token: null` means none, as in
 *   Qwen2); without a config, the first of the usual names that the file declares special.
 * - decode keeps special tokens and does no "clean up" of spaces before punctuation, so it is the
 *   faithful concatenation of the pieces (lossless for byte-level BPE such as GPT-2).
 */

type Json = Readonly<Record<string, unknown>>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Special-token names tried, in order, when tokenizer_config.json does not name BOS/EOS. */
const BOS_NAMES = ["<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>", "<|endoftext|>"];
const EOS_NAMES = ["</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>"];

/** A config token field: "<s>" or {"content": "<s>", ...}. */
const tokenName = (v: unknown): string | null => {
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.content === "string") return v.content;
  return null;
};

export class HfJsonTokenizer implements Tokenizer {
  readonly kind = "tokenizer.json" as const;
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  private readonly hf: HfTokenizer;
  private readonly addBos: boolean;
  private readonly file: string;

  /** Throws TokenizerError when the JSON is not a tokenizer @huggingface/tokenizers can build. */
  constructor(json: unknown, config: Json, file: string) {
    this.file = file;
    if (!isObject(json) || !isObject(json.model)) {
      throw new TokenizerError({
        file,
        field: "model",
        expected: "a tokenizer.json object with a model object",
        found: isObject(json) ? `model ${JSON.stringify(json.model)?.slice(0, 60)}` : typeof json,
      });
    }
    try {
      this.hf = new HfTokenizer(
        {
          normalizer: null,
          pre_tokenizer: null,
          post_processor: null,
          decoder: null,
          added_tokens: [],
          ...json,
        },
        config,
      );
    } catch (e) {
      throw new TokenizerError({
        file,
        field: `model (type ${String(json.model.type)})`,
        expected: "a tokenizer @huggingface/tokenizers can build",
        found: e instanceof Error ? e.message : String(e),
      });
    }
    let maxId = -1;
    for (const id of this.hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    // A guessed BOS/EOS name must be one of the file's special tokens: "<s>" is an ordinary piece
    // of Qwen2's vocabulary, for instance, not its BOS.
    const specials = new Set(
      (Array.isArray(json.added_tokens) ? json.added_tokens : [])
        .filter((t): t is Json => isObject(t) && t.special === true)
        .map((t) => t.content),
    );
    const idOf = (configKey: string, names: readonly string[]): number | null => {
      if (Object.hasOwn(config, configKey)) {
        const value = config[configKey];
        if (value === null) return null; // the config says there is none (Qwen2's bos_token: null)
        const named = tokenName(value);
        if (named !== null) return this.hf.token_to_id(named) ?? null;
      }
      for (const name of names) {
        const id = specials.has(name) ? this.hf.token_to_id(name) : undefined;
        if (id !== undefined) return id;
      }
      return null;
    };
    this.bos = idOf("bos_token", BOS_NAMES);
    this.eos = idOf("eos_token", EOS_NAMES);

    const configured = config.add_bos_token;
    if (typeof configured === "boolean") {
      this.addBos = configured && this.bos !== null;
    } else {
      const withSpecial = this.hf.encode("a", { add_special_tokens: true }).ids;
      const without = this.hf.encode("a", { add_special_tokens: false }).ids;
      this.addBos = this.bos !== null && withSpecial[0] === this.bos && without[0] !== this.bos;
    }
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const ids = this.hf.encode(text, { add_special_tokens: false }).ids;
    for (const id of ids) {
      if (typeof id !== "number") {
        throw new TokenizerError({
          file: this.file,
          field: "model.unk_token",
          expected: "an unknown token for pieces missing from the vocabulary",
          found: `no id for a piece of ${JSON.stringify(text.slice(0, 40))}`,
        });
      }
    }
    const head = bosPrefix(this.bos, opts?.bos, this.addBos, this.file);
    return head.length > 0 ? [...head, ...ids] : ids;
  }

  decode(ids: readonly number[]): string {
    checkIds(ids, this.vocabSize);
    if (ids.length === 0) return "";
    ids.forEach((id, i) => {
      this.pieceOf(id, `token id at position ${i}`);
    });
    return this.hf.decode(ids.slice(), { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  idToToken(id: number): string {
    checkId(id, this.vocabSize);
    return this.pieceOf(id, "token id");
  }

  private pieceOf(id: number, field: string): string {
    const piece = this.hf.id_to_token(id);
    if (piece === undefined) {
      throw new InputError({
        field,
        expected: `an id with a token in ${this.file}`,
        found: `${id} (unused id)`,
      });
    }
    return piece;
  }
}

const readJson = (path: string, field: string): unknown => {
  let text: string;
  try {
    text = readRegularFile(path).toString("utf8");
  } catch (e) {
    throw new TokenizerError({
      file: path,
      field,
      expected: "a readable file",
      found: e instanceof Error ? e.message : String(e),
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError({
      file: path,
      field,
      expected: "valid JSON",
      found: e instanceof Error ? e.message : String(e),
    });
  }
};

/**
 * Read a tokenizer.json (and optionally its tokenizer_config.json). Throws TokenizerError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 *
 * // a tiny byte-level BPE tokenizer.json: "hi hi" → ["hi", "Ġhi"]
 * const dir = mkdtempSync(join(tmpdir(), "tok-"));
 * writeFileSync(
 *   join(dir, "tokenizer.json"),
 *   JSON.stringify({
 *     model: { type: "BPE", vocab: { h: 0, i: 1, "Ġ": 2, hi: 3, "Ġhi": 4 }, merges: ["h i", "Ġ hi"] },
 *     pre_tokenizer: { type: "ByteLevel", add_prefix_space: false },
 *     decoder: { type: "ByteLevel" },
 *   }),
 * );
 *
 * const tok = readHfJsonTokenizer(join(dir, "tokenizer.json"));
 * assert.deepEqual(tok.encode("hi hi"), [3, 4]);
 * assert.equal(tok.decode([3, 4]), "hi hi");
 * ```
 */
export const readHfJsonTokenizer = (path: string, configPath?: string | null): HfJsonTokenizer => {
  const json = readJson(path, "tokenizer.json");
  let config: Json = {};
  if (configPath !== undefined && configPath !== null) {
    const c = readJson(configPath, "tokenizer_config.json");
    if (!isObject(c)) {
      throw new TokenizerError({
        file: configPath,
        field: "tokenizer_config.json",
        expected: "a JSON object",
        found: Array.isArray(c) ? "an array" : typeof c,
      });
    }
    config = c;
  }
  return new HfJsonTokenizer(json, config, path);
};
