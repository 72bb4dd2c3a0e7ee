import { Cause, Effect, Exit, Option } from "effect";
import { isPatchbayError } from "../errors/index.ts";
import { type Flags, parseFlags, UsageError } from "./args.ts";
import { demoCommand } from "./commands/demo.ts";
import { generateCommand } from "./commands/generate.ts";
import { gradcheckCommand } from "./commands/gradcheck.ts";
import { logitsCommand } from "./commands/logits.ts";
import { patchCommand } from "./commands/patch.ts";
import { sitesCommand } from "./commands/sites.ts";
import { tokenizeCommand } from "./commands/tokenize.ts";

const common = {
  model: "string",
  tokenizer: "string",
  json: "boolean",
  threads: "string",
  ep: "string",
} as const;

/** Rotary models past their trained context (n_ctx): refused unless this flag is given. */
const longContext = { "allow-long-context": "boolean" } as const;

export const coreCommands = {
  sites: { flags: common, run: sitesCommand, usage: "sites --model M [--json]" },
  logits: {
    flags: { ...common, ...longContext, ids: "string" },
    run: logitsCommand,
    usage: "logits --model M --ids 1,2,3 [--json] [--allow-long-context]",
  },
  generate: {
    flags: {
      ...common,
      ...longContext,
      prompt: "string",
      "max-tokens": "string",
      temperature: "string",
      seed: "string",
    },
    run: generateCommand,
    usage:
      "generate --model M --prompt TEXT --max-tokens N [--temperature T --seed S] [--tokenizer T] [--allow-long-context]",
  },
  patch: {
    flags: {
      ...common,
      ...longContext,
      base: "string",
      source: "string",
      site: "string",
      positions: "string",
      "top-k": "string",
    },
    run: patchCommand,
    usage:
      "patch --model M --base TEXT --source TEXT --site S [--positions P] [--top-k K] [--json] [--allow-long-context]",
  },
  gradcheck: {
    flags: { ...common, seed: "string", coords: "string" },
    run: gradcheckCommand,
    usage: "gradcheck --model M [--seed S] [--coords K] [--json]",
  },
  tokenize: {
    flags: { model: "string", tokenizer: "string", text: "string", bos: "string", json: "boolean" },
    run: tokenizeCommand,
    usage: "tokenize --model M --text TEXT [--bos true|false] [--tokenizer T] [--json]",
  },
  demo: { flags: { seed: "string" }, run: demoCommand, usage: "demo [--seed S]" },
} as const;

/** A command: its flags, what it runs, one usage line. */
export interface Command {
  readonly flags: Record<string, "string" | "boolean">;
  readonly run: (f: Flags) => Effect.Effect<void, unknown>;
  readonly usage: string;
}

const usage = (commands: Record<string, Command>) =>
  `usage: patchbay <command> [flags]\n${Object.values(commands)
    .map((c) => `  patchbay ${c.usage}`)
    .join(
      "\n",
    )}\n--model takes a folder or file path; --threads N sets ORT's intra-op threads; --ep cpu|cuda the execution provider;
--allow-long-context lets a rotary model run past its context (n_ctx); learned-position models never can.`;

export interface CliOptions {
  /**
   * The typed errors of the packages a command table adds (besides patchbay's own): printed as
   * `<tag>: <message>` with exit 1, like patchbay's, instead of as an unexpected failure.
   */
  readonly isTypedError?: (e: unknown) => e is { readonly _tag: string; readonly message: string };
}

/** Run one command line against a command table; resolves to the exit code (usage 2, input 1). */
export const runCli = async (
  commands: Record<string, Command>,
  argv: readonly string[],
  options: CliOptions = {},
): Promise<number> => {
  const [name, ...rest] = argv;
  const cmd = name === undefined ? undefined : commands[name];
  if (cmd === undefined) {
    console.error(
      name === undefined || name === "--help"
        ? usage(commands)
        : `unknown command ${JSON.stringify(name)}\n${usage(commands)}`,
    );
    return name === "--help" ? 0 : 2;
  }
  const program = Effect.suspend(() => cmd.run(parseFlags(rest, cmd.flags)));
  // (commands are typed per flag set; the table erases that)
  const exit = await Effect.runPromiseExit(program as Effect.Effect<void, unknown>);
  if (Exit.isSuccess(exit)) return 0;
  const failure = Cause.failureOption(exit.cause);
  const err = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause);
  if (err instanceof UsageError) {
    console.error(`patchbay ${name}: ${err.message}\nusage: patchbay ${cmd.usage}`);
    return 2;
  }
  const typed = isPatchbayError(err) || options.isTypedError?.(err) === true;
  if (typed) {
    const e = err as { readonly _tag: string; readonly message: string };
    console.error(`patchbay ${name}: ${e._tag}: ${e.message}`);
    return 1;
  }
  console.error(`patchbay ${name}: unexpected failure:`, err);
  return 1;
};
