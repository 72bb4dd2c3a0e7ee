import type { Choice, CommandSpec, CommandTable, FlagSpec } from "./command.ts";

/**
 * The CLI's usage text and what it reads off a command line before parsing it (help, --json, a
 * positional), from the command table alone: no implementation is imported here.
 */

/** A list of allowed values as the CLI and the experiment files print it. */
export const oneOf = (values: readonly string[]): string => values.join(", ");

/** The one message of a value outside its list: `--ablation: "foo" is not one of resample, zero, …`. */
export const notOneOf = (name: string, given: unknown, values: readonly string[]): string =>
  `${name}: ${JSON.stringify(given)} is not one of ${oneOf(values)}`;

const choiceLine = (flag: string, c: Choice, width: number): string =>
  `  --${flag.padEnd(width)}  ${oneOf(c.values)}${c.default !== undefined ? ` (default: ${c.default})` : ""}${c.about !== undefined ? `; ${c.about}` : ""}`;

/** One command's help: its usage line, then every choice flag with all its values. */
export const commandHelp = (spec: CommandSpec): string => {
  const choices = Object.entries(spec.choices ?? {});
  const width = Math.max(0, ...choices.map(([f]) => f.length));
  return [
    `usage: patchbay ${spec.usage}`,
    ...choices.map(([f, c]) => choiceLine(f, c, width)),
    ...(spec.help !== undefined ? [spec.help] : []),
  ].join("\n");
};

/** The whole CLI's usage: one line per command, then the notes. */
export const cliUsage = (commands: CommandTable, notes: readonly string[] = []): string =>
  [
    "usage: patchbay <command> [flags]   (patchbay <command> --help: its flags and their values)",
    ...Object.values(commands).map((c) => `  patchbay ${c.usage}`),
    ...notes,
  ].join("\n");

/** The words of a command line that are flags (`--x`, `-h`), not the values of string flags. */
const flagWords = (argv: readonly string[], flags: FlagSpec): string[] => {
  const words: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a === "--") break;
    if (!a.startsWith("-")) continue;
    words.push(a);
    const name = a.replace(/^--?/, "");
    if (!a.includes("=") && flags[name] === "string") k++; // its value follows
  }
  return words;
};

/** Whether a command line asks for help (`--help` or `-h` as a flag, whatever else it holds). */
export const asksHelp = (argv: readonly string[], flags: FlagSpec = {}): boolean =>
  flagWords(argv, flags).some((w) => w === "--help" || w === "-h");

/** Whether a command line asks for JSON output (`--json` as a flag). */
export const asksJson = (argv: readonly string[], flags: FlagSpec = {}): boolean =>
  flagWords(argv, flags).includes("--json");

/**
 * The command's bare word as its positional flag: `run x.yaml --json` is `run --file x.yaml --json`
 * (the parser takes no positionals). Words after a string flag are that flag's value.
 */
export const withPositional = (rest: readonly string[], spec: CommandSpec): string[] => {
  if (spec.positional === undefined) return [...rest];
  const i = rest.findIndex(
    (a, k) =>
      !a.startsWith("-") &&
      (k === 0 || spec.flags[rest[k - 1]!.replace(/^--/, "")] !== "string" || rest[k - 1]!.includes("=")),
  );
  if (i < 0) return [...rest];
  return [...rest.slice(0, i), `--${spec.positional}`, rest[i]!, ...rest.slice(i + 1)];
};
