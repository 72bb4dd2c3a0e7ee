import { EXECUTION_PROVIDERS } from "../runtime/providers.ts";
import { BOS_CHOICES } from "./choices.ts";
import type { Choice, CommandSpec } from "./command.ts";

/**
 * Core's commands as a table (names, flags, usage, choices): data only. Each implementation
 * (commands/<name>.ts) is imported when its command runs.
 */

/** --model, --tokenizer, --json, --threads, --ep: every command that opens a model. */
/** --compile-cache DIR: ORT-optimized graphs kept on disk there (runtime/compile-cache.ts). */
export const compileCacheFlag = { "compile-cache": "string" } as const;

export const modelFlags = {
  model: "string",
  tokenizer: "string",
  json: "boolean",
  threads: "string",
  ep: "string",
  ...compileCacheFlag,
} as const;

/** The choices of modelFlags. */
export const modelChoices: Readonly<Record<string, Choice>> = {
  ep: { values: EXECUTION_PROVIDERS, default: "cpu", about: "ORT's execution provider" },
};

/** Rotary models past their trained context (n_ctx): refused unless this flag is given. */
const longContext = { "allow-long-context": "boolean" } as const;

/** What every core command shares, printed under the CLI's usage. */
export const coreNotes = [
  "--model takes a folder or file path; --threads N sets ORT's intra-op threads; --ep the execution provider;",
  "--allow-long-context lets a rotary model run past its context (n_ctx); learned-position models never can.",
  "--compile-cache DIR keeps ORT-optimized graphs in DIR, keyed by structure, so a later process loads them instead of optimizing again (also PATCHBAY_COMPILE_CACHE).",
  "--json: the result as JSON on stdout, and a failure as one JSON object on stderr: {error: {tag, message, file?, field?}}.",
] as const;

export const coreCommands = {
  sites: {
    flags: modelFlags,
    choices: modelChoices,
    usage: "sites --model M [--json]",
    load: () => import("./commands/sites.ts").then((m) => m.sitesCommand),
  },
  logits: {
    flags: { ...modelFlags, ...longContext, ids: "string" },
    choices: modelChoices,
    usage: "logits --model M --ids 1,2,3 [--json] [--allow-long-context]",
    load: () => import("./commands/logits.ts").then((m) => m.logitsCommand),
  },
  generate: {
    flags: {
      ...modelFlags,
      ...longContext,
      prompt: "string",
      "max-tokens": "string",
      temperature: "string",
      seed: "string",
    },
    choices: modelChoices,
    usage:
      "generate --model M --prompt TEXT --max-tokens N [--temperature T --seed S] [--tokenizer T] [--allow-long-context]",
    load: () => import("./commands/generate.ts").then((m) => m.generateCommand),
  },
  patch: {
    flags: {
      ...modelFlags,
      ...longContext,
      base: "string",
      source: "string",
      site: "string",
      positions: "string",
      "top-k": "string",
    },
    choices: modelChoices,
    usage:
      "patch --model M --base TEXT --source TEXT --site S [--positions P] [--top-k K] [--json] [--allow-long-context]",
    load: () => import("./commands/patch.ts").then((m) => m.patchCommand),
  },
  gradcheck: {
    flags: { ...modelFlags, seed: "string", coords: "string" },
    choices: modelChoices,
    usage: "gradcheck --model M [--seed S] [--coords K] [--json]",
    load: () => import("./commands/gradcheck.ts").then((m) => m.gradcheckCommand),
  },
  tokenize: {
    flags: { model: "string", tokenizer: "string", text: "string", bos: "string", json: "boolean" },
    choices: {
      bos: { values: BOS_CHOICES, about: "prepend BOS (default: the tokenizer's own rule)" },
    },
    usage: `tokenize --model M --text TEXT [--bos ${BOS_CHOICES.join("|")}] [--tokenizer T] [--json]`,
    load: () => import("./commands/tokenize.ts").then((m) => m.tokenizeCommand),
  },
  demo: {
    flags: { seed: "string" },
    usage: "demo [--seed S]",
    load: () => import("./commands/demo.ts").then((m) => m.demoCommand),
  },
} as const satisfies Record<string, CommandSpec>;
