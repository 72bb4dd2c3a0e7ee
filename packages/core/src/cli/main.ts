import { Cause, Effect, Exit, Option } from "effect";
import { isPatchbayError } from "../errors/index.ts";
import { parseFlags, UsageError } from "./args.ts";
import { demoCommand } from "./commands/demo.ts";
import { generateCommand } from "./commands/generate.ts";
import { gradcheckCommand } from "./commands/gradcheck.ts";
import { logitsCommand } from "./commands/logits.ts";
import { patchCommand } from "./commands/patch.ts";
import { sitesCommand } from "./commands/sites.ts";

const common = {
  model: "string",
  tokenizer: "string",
  json: "boolean",
  threads: "string",
  ep: "string",
} as const;

const commands = {
  sites: { flags: common, run: sitesCommand, usage: "sites --model M [--json]" },
  logits: {
    flags: { ...common, ids: "string" },
    run: logitsCommand,
    usage: "logits --model M --ids 1,2,3 [--json]",
  },
  generate: {
    flags: { ...common, prompt: "string", "max-tokens": "string", temperature: "string", seed: "string" },
    run: generateCommand,
    usage: "generate --model M --prompt TEXT --max-tokens N [--temperature T --seed S] [--tokenizer T]",
  },
  patch: {
    flags: {
      ...common,
      base: "string",
      source: "string",
      site: "string",
      positions: "string",
      "top-k": "string",
    },
    run: patchCommand,
    usage: "patch --model M --base TEXT --source TEXT --site S [--positions P] [--top-k K] [--json]",
  },
  gradcheck: {
    flags: { ...common, seed: "string", coords: "string" },
    run: gradcheckCommand,
    usage: "gradcheck --model M [--seed S] [--coords K] [--json]",
  },
  demo: { flags: { seed: "string" }, run: demoCommand, usage: "demo [--seed S]" },
} as const;

const usage = () =>
  `usage: patchbay <command> [flags]\n${Object.values(commands)
    .map((c) => `  patchbay ${c.usage}`)
    .join(
      "\n",
    )}\n--model takes a folder or file path; --threads N sets ORT's intra-op threads; --ep cpu|cuda the execution provider.`;

const main = async (argv: string[]): Promise<number> => {
  const [name, ...rest] = argv;
  const cmd = commands[name as keyof typeof commands];
  if (cmd === undefined) {
    console.error(
      name === undefined || name === "--help"
        ? usage()
        : `unknown command ${JSON.stringify(name)}\n${usage()}`,
    );
    return name === "--help" ? 0 : 2;
  }
  const program = Effect.suspend(() => cmd.run(parseFlags(rest, cmd.flags)));
  const exit = await Effect.runPromiseExit(program as Effect.Effect<void, unknown>);
  if (Exit.isSuccess(exit)) return 0;
  const failure = Cause.failureOption(exit.cause);
  const err = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause);
  if (err instanceof UsageError) {
    console.error(`patchbay ${name}: ${err.message}\nusage: patchbay ${cmd.usage}`);
    return 2;
  }
  if (isPatchbayError(err)) {
    console.error(`patchbay ${name}: ${err._tag}: ${err.message}`);
    return 1;
  }
  console.error(`patchbay ${name}: unexpected failure:`, err);
  return 1;
};

process.exitCode = await main(process.argv.slice(2));
