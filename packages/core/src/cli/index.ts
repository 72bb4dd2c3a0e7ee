export { type CliOptions, type Command, coreCommands, runCli } from "./app.ts";
export { type Flags, intFlag, numberFlag, openOptions, parseFlags, required, UsageError } from "./args.ts";
