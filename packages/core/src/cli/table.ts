/**
 * `@patchbay/core/cli/table`: the CLI without its implementations — the command table, its types,
 * the usage text and `runCli`. Importing this loads no Effect, no ORT and no engine, so a bin built
 * on it prints `--help` at once; each command's implementation is imported when it runs.
 */
export type {
  Choice,
  CliOptions,
  CommandRun,
  CommandSpec,
  CommandTable,
  FlagKind,
  FlagSpec,
  Flags,
  TypedErrorGuard,
} from "./command.ts";
export { runCli } from "./app.ts";
export { BOS_CHOICES } from "./choices.ts";
export { compileCacheFlag, coreCommands, coreNotes, modelChoices, modelFlags } from "./core-commands.ts";
export { type ErrorJson, errorJson } from "./error-json.ts";
export { asksHelp, asksJson, cliUsage, commandHelp, notOneOf, oneOf, withPositional } from "./usage.ts";
/** The choice lists of the core's flags and Schemas, as plain arrays (the Schemas are built from them). */
export { EDGE_ABLATIONS } from "../patching/ablation-kinds.ts";
export { METRIC_KINDS } from "../engine/metric-kinds.ts";
export { GRANULARITIES } from "../edges/layout.ts";
export { EXECUTION_PROVIDERS } from "../runtime/providers.ts";
