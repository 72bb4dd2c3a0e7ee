import type { CliOptions, CommandTable } from "./command.ts";
import { printErrorJson, usageJson } from "./error-json.ts";
import { asksHelp, asksJson, cliUsage, commandHelp, withPositional } from "./usage.ts";

/**
 * Run one command line against a command table; resolves to the exit code (usage 2, input 1).
 * Help, `--version` and usage errors before a command is found print from the table alone; the
 * command's implementation (and Effect, the engine, …) is imported only when it runs.
 */
export const runCli = async (
  commands: CommandTable,
  argv: readonly string[],
  options: CliOptions = {},
): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h") {
    console.log(cliUsage(commands, options.notes));
    return 0;
  }
  if (name === "--version" && options.version !== undefined) {
    console.log(options.version);
    return 0;
  }
  const spec = name === undefined || !Object.hasOwn(commands, name) ? undefined : commands[name];
  if (spec === undefined) {
    const message = name === undefined ? "a command is required" : `unknown command ${JSON.stringify(name)}`;
    if (asksJson(argv)) printErrorJson(usageJson(message));
    else console.error(`${name === undefined ? "" : `${message}\n`}${cliUsage(commands, options.notes)}`);
    return 2;
  }
  if (asksHelp(rest, spec.flags)) {
    console.log(commandHelp(spec));
    return 0;
  }
  const { runCommand } = await import("./run.ts");
  return runCommand(name!, spec, withPositional(rest, spec), options, asksJson(rest, spec.flags));
};
