import { circuitCommand, circuitFlags, circuitUsage } from "@patchbay/circuits/cli";
import { coreCommands, runCli } from "@patchbay/core/cli";
import { demoCommand } from "./demo.ts";

/** `pnpm patchbay <command>`: the core commands, circuit discovery and the main job. */
const commands = {
  ...coreCommands,
  circuit: { flags: circuitFlags, run: circuitCommand, usage: circuitUsage },
  demo: {
    flags: { seed: "string", n: "string" } as const,
    run: demoCommand,
    usage: "demo [--seed S] [--n N]",
  },
};

process.exitCode = await runCli(commands, process.argv.slice(2));
