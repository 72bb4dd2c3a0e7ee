import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { writeSafetensors } from "../../../packages/core/src/weights/safetensors.ts";
import { syntheticGpt2, syntheticLlama2c } from "../../../packages/core/src/weights/test-support.ts";
import type { CorpusCase } from "./corpus.fixture.ts";

/**
 * The CLI corpus, second half: bad models, weights, tasks and method options, through the core
 * commands (logits, generate, tokenize) and `circuit`. Models are written by the test (a random
 * llama2.c checkpoint with a context of 4, a random GPT-2 folder), so no case needs ../shared.
 */

const llama2c = syntheticLlama2c(true).bytes;
/** the same checkpoint with a NaN at flat index 13 of the token embedding (after the 28-byte header) */
const nan = (() => {
  const b = llama2c.slice();
  new DataView(b.buffer).setFloat32(28 + 4 * 13, Number.NaN, true);
  return b;
})();
const gpt2 = syntheticGpt2();
/** model.safetensors whose 8-byte header length is one byte short */
const shortHeader = (() => {
  const b = writeSafetensors(gpt2.tensors).slice();
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, dv.getBigUint64(0, true) - 1n, true);
  return b;
})();
const gpt2Folder = { "m/config.json": JSON.stringify(gpt2.config), "m/model.safetensors": shortHeader };
const ids = (n: number) => Array.from({ length: n }, (_, i) => i % 5).join(",");
const task = (lines: string[]) => `${lines.join("\n")}\n`;
const ok = '{"clean_ids": [1, 2, 3], "corrupted_ids": [1, 2, 4], "answer_ids": [3], "wrong_ids": [4]}';

export const MODEL_CORPUS: readonly CorpusCase[] = [
  // ── weights and model files
  {
    name: "a NaN weight",
    files: { "m.bin": nan },
    args: ["logits", "--model", "{dir}/m.bin", "--ids", "1,2", "--json"],
    exit: 1,
    says: ["WeightFileError", "m.bin", "token_embedding_table", "NaN at flat index 13"],
    json: { tag: "WeightFileError", file: "m.bin", field: "token_embedding_table" },
  },
  {
    name: "a safetensors header length one byte short",
    files: gpt2Folder,
    args: ["logits", "--model", "{dir}/m", "--ids", "1,2"],
    exit: 1,
    says: ["WeightFileError", "model.safetensors", "1 bytes past the last tensor"],
  },
  {
    name: "model.safetensors that is a FIFO",
    files: { "m/config.json": JSON.stringify(gpt2.config) },
    setup: (dir) => {
      const r = spawnSync("mkfifo", [join(dir, "m", "model.safetensors")], { encoding: "utf8" });
      return r.status === 0 ? undefined : `no mkfifo: ${r.stderr}`;
    },
    args: ["logits", "--model", "{dir}/m", "--ids", "1,2"],
    exit: 1,
    says: ["WeightFileError", "model.safetensors", "FIFO"],
  },
  {
    name: "a prompt past a rotary model's context",
    files: { "m.bin": llama2c },
    args: ["logits", "--model", "{dir}/m.bin", "--ids", ids(6)],
    exit: 1,
    says: ["InputError", "n_ctx = 4", "--allow-long-context", "found 6 tokens"],
  },
  {
    name: "a builtin option out of range",
    args: ["logits", "--model", "builtin:induction?vocabSize=100000000", "--ids", "1"],
    exit: 1,
    says: ["ConfigError", "builtin:induction", "vocabSize", "≤ 512"],
    json: { tag: "ConfigError", field: "vocabSize" },
  },
  {
    name: "a builtin query option __proto__",
    args: ["logits", "--model", "builtin:induction?__proto__=1", "--ids", "1"],
    exit: 1,
    says: ["ConfigError", "__proto__"],
  },
  {
    name: "--threads 100000",
    files: { "m.bin": llama2c },
    args: ["logits", "--model", "{dir}/m.bin", "--ids", "1", "--threads", "100000"],
    exit: 2,
    says: ["--threads", "an integer from 1 to"],
  },
  {
    name: "tokenize on a model without a tokenizer",
    args: ["tokenize", "--model", "builtin:induction", "--text", "hello"],
    exit: 1,
    says: ["--model", "tokenizer"],
  },
  {
    name: "generate --seed without sampling (a flag that would change nothing)",
    args: ["generate", "--model", "builtin:induction", "--prompt", "x", "--seed", "3"],
    exit: 2,
    says: ["--seed", "--temperature"],
  },
  // ── task files and method options (patchbay circuit)
  {
    name: "invalid UTF-8 in a task file",
    files: {
      "t.jsonl": Buffer.concat([
        Buffer.from(`${ok}\n{"clean": "caf`),
        Buffer.from([0xe9]),
        Buffer.from('"}\n'),
      ]),
    },
    args: ["circuit", "--model", "builtin:induction", "--task", "{dir}/t.jsonl", "--method", "eap"],
    exit: 1,
    says: ["TaskFileError", "t.jsonl:2", "UTF-8"],
  },
  {
    name: "an over-long task line",
    files: { "t.jsonl": task([ok, `{"clean_ids": [${"1,".repeat(600_000)}1]}`]) },
    args: ["circuit", "--model", "builtin:induction", "--task", "{dir}/t.jsonl", "--method", "eap"],
    exit: 1,
    says: ["TaskFileError", "t.jsonl:2", /MiB|bytes/],
  },
  {
    name: "a task without wrong under logit-diff",
    files: { "t.jsonl": task(['{"clean_ids": [1, 2, 3], "corrupted_ids": [1, 2, 4], "answer_ids": [3]}']) },
    args: ["circuit", "--model", "builtin:induction", "--task", "{dir}/t.jsonl", "--method", "eap"],
    exit: 1,
    says: ["TaskFileError", "t.jsonl:1", "wrong"],
  },
  {
    name: "a task line with a __proto__ key inside meta",
    files: { "t.jsonl": task([ok.replace("}", ', "meta": {"__proto__": {"polluted": 1}}}')]) },
    args: ["circuit", "--model", "builtin:induction", "--task", "{dir}/t.jsonl", "--method", "eap"],
    exit: 1,
    says: ["TaskFileError", "t.jsonl:1", "meta.__proto__"],
  },
  {
    name: "eap-ig over inputs with zero ablation",
    args: ["circuit", "--model", "builtin:induction", "--method", "eap-ig", "--ablation", "zero"],
    exit: 1,
    says: ["eap-ig-inputs", "zero", "eap-ig-activations"],
  },
  {
    name: "an invalid --ablation lists every ablation",
    args: ["circuit", "--model", "builtin:induction", "--ablation", "foo"],
    exit: 2,
    says: ['--ablation: "foo" is not one of resample, zero, mean, mean-positional'],
    json: { tag: "UsageError" },
  },
  {
    name: "an invalid --method lists every method",
    args: ["circuit", "--model", "builtin:induction", "--method", "magic"],
    exit: 2,
    says: ['--method: "magic" is not one of eap, eap-ig, eap-ig-inputs, eap-ig-activations, exact, acdc'],
  },
  {
    name: "a flag the method does not read (--tau with eap)",
    args: ["circuit", "--model", "builtin:induction", "--method", "eap", "--tau", "0.5"],
    exit: 2,
    says: ["--tau", "acdc"],
    json: { tag: "UsageError" },
  },
];
