import { circuitCommand, circuitFlags, circuitUsage } from "@patchbay/circuits/cli";
import { coreCommands, runCli } from "@patchbay/core/cli";
import "@patchbay/zoo"; // registers builtin:<name> model paths with core
import { workerCommand, workerFlags, workerUsage } from "../distributed/cli.ts";
import { demoCommand } from "./demo.ts";
import { experimentCommands, isExperimentsError, withPositionals } from "./experiments.ts";

/** `pnpm patchbay <command>`: the core commands, circuit discovery and the main job. */
const commands = {
  ...coreCommands,
  circuit: { flags: circuitFlags, run: circuitCommand, usage: circuitUsage },
  demo: {
    flags: { seed: "string", n: "string" } as const,
    run: demoCommand,
    usage: "demo [--seed S] [--n N]",
  },
  ...experimentCommands,
  worker: { flags: workerFlags, run: workerCommand, usage: workerUsage },
};

process.exitCode = await runCli(commands, withPositionals(process.argv.slice(2)), {
  isTypedError: isExperimentsError,
});
