import { TokenizerError } from "../errors/errors.ts";
import { bytePieceValue, SentencePieceTokenizer } from "./sentencepiece.ts";

/**
 * The vocabulary embedded in a GGUF file's metadata, for `tokenizer.ggml.model = "llama"`
 * (SentencePiece BPE): `tokenizer.ggml.tokens` (pieces with "▁" for spaces, `<0xNN>` byte tokens),
 * `tokenizer.ggml.scores`, optional `tokenizer.ggml.token_type` (1 normal, 2 unknown, 3 control,
 * 4 user-defined, 5 unused, 6 byte), `tokenizer.ggml.{bos,eos,unknown}_token_id`,
 * `tokenizer.ggml.add_bos_token` (default true) and `tokenizer.ggml.add_space_prefix` (default true).
 *
 * Encoded and decoded by the same SentencePiece-style merge loop as llama2.c's tokenizer.bin
 * (see sentencepiece.ts), after writing "▁" as a space, so a GGUF converted from a llama2.c model
 * tokenizes identically to its tok*.bin.
 */

/** GGUF metadata as a key → value record (numbers may be bigint for 64-bit fields; arrays plain or typed). */
export type GgufMetadata = Readonly<Record<string, unknown>>;

const TOKEN_TYPE_CONTROL = 3;
const TOKEN_TYPE_BYTE = 6;
/** GGUF writes "no such token" as u32 -1. */
const NO_TOKEN = 0xffffffff;

const describe = (v: unknown): string => {
  if (v === undefined) return "nothing (key absent)";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return `${typeof v} ${JSON.stringify(typeof v === "bigint" ? v.toString() : v)}`;
};

const asArray = (v: unknown): readonly unknown[] | null => {
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return Array.from(v as unknown as ArrayLike<unknown>);
  return null;
};

const asNumber = (v: unknown): number | null => {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return null;
};

/** Build the tokenizer from parsed GGUF metadata. `file` names the source in errors. Throws TokenizerError. */
export const ggufTokenizerFromMetadata = (metadata: GgufMetadata, file: string): SentencePieceTokenizer => {
  const fail = (field: string, expected: string, found: unknown): never => {
    throw new TokenizerError({ file, field, expected, found: describe(found) });
  };

  const model = metadata["tokenizer.ggml.model"];
  if (model !== "llama") fail("tokenizer.ggml.model", '"llama" (SentencePiece BPE)', model);

  const rawTokens = metadata["tokenizer.ggml.tokens"];
  const tokens = asArray(rawTokens);
  if (tokens === null || tokens.length === 0)
    fail("tokenizer.ggml.tokens", "a non-empty array of strings", rawTokens);
  const n = tokens!.length;
  const spellings = tokens!.map((t, i) =>
    typeof t === "string" ? t : fail(`tokenizer.ggml.tokens[${i}]`, "a string", t),
  );

  const rawScores = metadata["tokenizer.ggml.scores"];
  const scoreList = asArray(rawScores);
  if (scoreList === null || scoreList.length !== n) {
    fail("tokenizer.ggml.scores", `an array of ${n} numbers (one per token)`, rawScores);
  }
  const scores = Float32Array.from(scoreList!, (s, i) => {
    const x = asNumber(s);
    return x === null || Number.isNaN(x) ? fail(`tokenizer.ggml.scores[${i}]`, "a number", s) : x;
  });

  const rawTypes = metadata["tokenizer.ggml.token_type"];
  let types: number[] | null = null;
  if (rawTypes !== undefined) {
    const list = asArray(rawTypes);
    if (list === null || list.length !== n) {
      fail("tokenizer.ggml.token_type", `an array of ${n} integers (one per token)`, rawTypes);
    }
    types = list!.map((t, i) => asNumber(t) ?? fail(`tokenizer.ggml.token_type[${i}]`, "an integer", t));
  }

  const tokenId = (key: string): number | null => {
    const raw = metadata[key];
    if (raw === undefined) return null;
    const id = asNumber(raw);
    if (id === NO_TOKEN) return null;
    if (id === null || !Number.isInteger(id) || id < 0 || id >= n) {
      return fail(key, `a token id in [0, ${n})`, raw);
    }
    return id;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const raw = metadata[key];
    if (raw === undefined) return fallback;
    return typeof raw === "boolean" ? raw : fail(key, "a boolean", raw);
  };

  const bos = tokenId("tokenizer.ggml.bos_token_id");
  const eos = tokenId("tokenizer.ggml.eos_token_id");
  const unk = tokenId("tokenizer.ggml.unknown_token_id");

  const pieces = spellings.map((s) => s.replaceAll("\u2581", " "));
  // byte tokens: token_type 6 when types are given, else anything spelled <0xNN>
  const byteOf = Int16Array.from(pieces, (p, id) =>
    types === null || types[id] === TOKEN_TYPE_BYTE ? bytePieceValue(p) : -1,
  );
  const byteFallback = new Int32Array(256).fill(-1);
  byteOf.forEach((b, id) => {
    if (b >= 0 && byteFallback[b] === -1) byteFallback[b] = id;
  });
  for (let b = 0; b < 256; b++) {
    if (byteFallback[b] !== -1) continue;
    // llama.cpp falls back to <unk> for a byte with no token
    if (unk === null) {
      fail(
        "tokenizer.ggml.tokens",
        `a byte token <0x${b.toString(16).toUpperCase().padStart(2, "0")}> or tokenizer.ggml.unknown_token_id`,
        "neither",
      );
    }
    byteFallback[b] = unk!;
  }

  const control = new Set<number>();
  types?.forEach((t, id) => {
    if (t === TOKEN_TYPE_CONTROL) control.add(id);
  });
  if (bos !== null) control.add(bos);
  if (eos !== null) control.add(eos);

  return new SentencePieceTokenizer({
    kind: "gguf",
    pieces,
    spellings,
    scores,
    byteOf,
    byteFallback,
    control,
    bos,
    eos,
    addBos: flag("tokenizer.ggml.add_bos_token", true),
    addDummyPrefix: flag("tokenizer.ggml.add_space_prefix", true),
  });
};
