import { resolve } from "node:path";
import { Cause, Effect, Exit, Option } from "effect";
import { isPatchbayError } from "../errors/index.ts";
import { COMPILE_CACHE_ENV } from "../runtime/compile-cache-dir.ts";
import { checkChoices, type Flags, parseFlags, UsageError } from "./args.ts";
import type { CliOptions, CommandSpec } from "./command.ts";
import { errorJson, printErrorJson, usageJson } from "./error-json.ts";

/**
 * --compile-cache DIR (commands that open models take it): the folder for the process, its worker
 * threads and child processes, through the variable every session cache reads.
 */
const useCompileCache = (flags: Flags): void => {
  const dir = flags["compile-cache"];
  if (dir === undefined) return;
  if (typeof dir !== "string" || dir === "")
    throw new UsageError({ message: "--compile-cache expects a folder for ORT-optimized graphs" });
  process.env[COMPILE_CACHE_ENV] = resolve(dir);
};

/**
 * One command run: flags parsed and choices checked (before anything is imported), then the
 * implementation loaded and run. A failure is printed once, as text or (with --json) as one JSON
 * object on stderr; the exit code is 2 for usage, 1 for a typed error or anything unexpected.
 */
export const runCommand = async (
  name: string,
  spec: CommandSpec,
  argv: readonly string[],
  options: CliOptions,
  json: boolean,
): Promise<number> => {
  const usageError = (message: string): number => {
    if (json) printErrorJson(usageJson(message));
    else console.error(`patchbay ${name}: ${message}\nusage: patchbay ${spec.usage}`);
    return 2;
  };
  let flags: Flags;
  try {
    flags = parseFlags(argv, spec.flags);
    checkChoices(flags, spec.choices ?? {});
    useCompileCache(flags);
  } catch (e) {
    if (e instanceof UsageError) return usageError(e.message);
    throw e;
  }
  await options.prepare?.();
  const run = await spec.load();
  const exit = await Effect.runPromiseExit(Effect.suspend(() => run(flags)));
  if (Exit.isSuccess(exit)) return 0;
  const failure = Cause.failureOption(exit.cause);
  const err = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause);
  if (err instanceof UsageError) return usageError(err.message);
  const typed = isPatchbayError(err) || (await options.typedErrors?.())?.(err) === true;
  if (typed) {
    const e = err as { readonly _tag: string; readonly message: string };
    if (json) printErrorJson(errorJson(e));
    else console.error(`patchbay ${name}: ${e._tag}: ${e.message}`);
    return 1;
  }
  if (json) printErrorJson(errorJson({ _tag: "UnexpectedFailure", message: String(err) }));
  else console.error(`patchbay ${name}: unexpected failure:`, err);
  return 1;
};
