import { readFileSync } from "node:fs";
import { runCli } from "@patchbay/core/cli/table";
import { patchbayCli, patchbayCommands } from "./commands.ts";

/**
 * `pnpm patchbay <command>` from source (the installed bin is packages/patchbay/src/bin.ts): the
 * same lazy command table, so `--help` imports no implementation. `--version`: this checkout's.
 */
const version = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

process.exitCode = await runCli(patchbayCommands, process.argv.slice(2), { ...patchbayCli, version });
