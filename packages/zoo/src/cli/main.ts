import { coreCommands, runCli } from "@patchbay/core/cli";
import "../index.ts";

/**
 * `patchbay` with the core commands and the zoo registered, so `--model builtin:<name>` works (core's
 * own main, packages/core/src/cli/main.ts, has no `builtin:` source; the full CLI is experiments/src/cli).
 */
process.exitCode = await runCli(coreCommands, process.argv.slice(2));
