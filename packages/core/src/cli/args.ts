import { parseArgs } from "node:util";
import { Data } from "effect";
import { EXECUTION_PROVIDERS } from "../runtime/providers.ts";
import { checkThreads } from "../runtime/threads.ts";
import type { Choice, FlagSpec, Flags } from "./command.ts";
import { notOneOf } from "./usage.ts";

export type { Flags } from "./command.ts";

/** A command line that does not parse: names the flag and what it wanted. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

export const parseFlags = (argv: readonly string[], spec: FlagSpec): Flags => {
  const options = Object.fromEntries(Object.entries(spec).map(([k, type]) => [k, { type }]));
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: false, strict: true }).values as Flags;
  } catch (e) {
    throw new UsageError({ message: (e as Error).message });
  }
};

export const required = (f: Flags, name: string): string => {
  const v = f[name];
  if (typeof v !== "string" || v === "") throw new UsageError({ message: `--${name} is required` });
  return v;
};

export const intFlag = (f: Flags, name: string, fallback: number, min = 0): number => {
  const v = f[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isInteger(n) || n < min) {
    throw new UsageError({ message: `--${name}: expected an integer ≥ ${min}, found ${JSON.stringify(v)}` });
  }
  return n;
};

export const numberFlag = (f: Flags, name: string, fallback: number, min = 0): number => {
  const v = f[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isFinite(n) || n < min) {
    throw new UsageError({ message: `--${name}: expected a number ≥ ${min}, found ${JSON.stringify(v)}` });
  }
  return n;
};

/** A choice flag's value, or `fallback` when it is absent; a value outside `values` is a usage error listing them. */
export const choice = <A extends string>(f: Flags, name: string, values: readonly A[], fallback: A): A => {
  const v = f[name];
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !values.includes(v as A))
    throw new UsageError({ message: notOneOf(`--${name}`, v, values) });
  return v as A;
};

/** Every choice flag given checked against its list (the table's, so help and errors agree). */
export const checkChoices = (f: Flags, choices: Readonly<Record<string, Choice>>): void => {
  for (const [name, c] of Object.entries(choices)) {
    const v = f[name];
    if (v !== undefined && (typeof v !== "string" || !c.values.includes(v)))
      throw new UsageError({ message: notOneOf(`--${name}`, v, c.values) });
  }
};

/** --threads N, checked against the machine's cap (core's checkThreads); undefined when absent. */
export const threadsFlag = (f: Flags): number | undefined => {
  const threads = f.threads === undefined ? undefined : intFlag(f, "threads", 0, 1);
  const bad = threads === undefined ? null : checkThreads(threads, "--threads");
  if (bad !== null) throw new UsageError({ message: bad.message });
  return threads;
};

/**
 * --tokenizer, --threads, --ep and --allow-long-context (commands that run sequences: logits,
 * generate, patch), shared by every command that opens a model.
 */
export const openOptions = (
  f: Flags,
): {
  tokenizer?: string;
  threads?: number;
  executionProvider?: "cpu" | "cuda";
  allowLongContext?: boolean;
} => {
  const ep = f.ep === undefined ? undefined : choice(f, "ep", EXECUTION_PROVIDERS, "cpu");
  const threads = threadsFlag(f);
  return {
    ...(typeof f.tokenizer === "string" ? { tokenizer: f.tokenizer } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(ep !== undefined ? { executionProvider: ep } : {}),
    ...(f["allow-long-context"] === true ? { allowLongContext: true } : {}),
  };
};
