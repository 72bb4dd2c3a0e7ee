import { runCli } from "./app.ts";
import { coreCommands, coreNotes } from "./core-commands.ts";

/** `patchbay` with the core commands only (the full CLI, with circuits and experiments, is experiments/src/cli). */
process.exitCode = await runCli(coreCommands, process.argv.slice(2), { notes: coreNotes });
