#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { runCli } from "@patchbay/core/cli/table";
import { patchbayCli, patchbayCommands } from "@patchbay/experiments/cli/commands";

/**
 * `patchbay <command>`: the installed CLI. It imports the command table only (names, flags, usage,
 * choices: no Effect, ORT or engine), so `--help` and `--version` answer at once; a command's
 * implementation is imported when it runs. The version is this package's (package.json sits one
 * folder up from src/bin.ts and from dist/bin.js alike).
 */
const version = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

process.exitCode = await runCli(patchbayCommands, process.argv.slice(2), { ...patchbayCli, version });
