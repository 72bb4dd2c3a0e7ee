export type { EncodeOptions, Tokenizer, TokenizerKind } from "./tokenizer.ts";
export { HfJsonTokenizer, readHfJsonTokenizer } from "./hf-json.ts";
export { Gpt2Bpe, parseMergesTxt, parseVocabJson, readGpt2Bpe, type MergePair } from "./gpt2-bpe.ts";
export { SentencePieceTokenizer } from "./sentencepiece.ts";
export { parseLlama2cTokenizer, readLlama2cTokenizer } from "./llama2c.ts";
export { ggufTokenizerFromMetadata } from "./gguf-vocab.ts";
export { textBefore, tokenSpans, visiblePiece } from "./spans.ts";
export {
  findTokenizer,
  loadTokenizer,
  locateTokenizer,
  readTokenizer,
  readTokenizerSync,
  type TokenizerSource,
  tokenizerSource,
} from "./load.ts";
