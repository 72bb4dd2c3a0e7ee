/**
 * Tokenizers: `tokenizer.json`, GPT-2 vocab+merges, llama2.c `tokenizer.bin` and the GGUF vocabulary,
 * behind one `Tokenizer` interface; `loadTokenizer` / `findTokenizer` are the Effect entry points.
 */
export type { EncodeOptions, Tokenizer, TokenizerKind } from "./tokenizer.ts";
export { HfJsonTokenizer, readHfJsonTokenizer } from "./hf-json.ts";
export { Gpt2Bpe, readGpt2Bpe } from "./gpt2-bpe.ts";
export { SentencePieceTokenizer } from "./sentencepiece.ts";
export { parseLlama2cTokenizer, readLlama2cTokenizer } from "./llama2c.ts";
export { textBefore, tokenSpans, visiblePiece } from "./spans.ts";
export { findTokenizer, loadTokenizer } from "./load.ts";
