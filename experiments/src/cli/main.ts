import { circuitCommand, circuitFlags, circuitUsage } from "@patchbay/circuits/cli";
import { coreCommands, runCli } from "@patchbay/core/cli";
import { demoCommand } from "./demo.ts";
import {
  lsCommand,
  lsFlags,
  lsUsage,
  reportFlags,
  reportReserved,
  reportUsage,
  runCommand,
  runFlags,
  runUsage,
  validateCommand,
  validateFlags,
  validateUsage,
  withPositionals,
} from "./experiments.ts";

/** `pnpm patchbay <command>`: the core commands, circuit discovery and the main job. */
const commands = {
  ...coreCommands,
  circuit: { flags: circuitFlags, run: circuitCommand, usage: circuitUsage },
  demo: {
    flags: { seed: "string", n: "string" } as const,
    run: demoCommand,
    usage: "demo [--seed S] [--n N]",
  },
  validate: { flags: validateFlags, run: validateCommand, usage: validateUsage },
  run: { flags: runFlags, run: runCommand, usage: runUsage },
  ls: { flags: lsFlags, run: lsCommand, usage: lsUsage },
  report: { flags: reportFlags, run: reportReserved, usage: reportUsage },
};

process.exitCode = await runCli(commands, withPositionals(process.argv.slice(2)));
