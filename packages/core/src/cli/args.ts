import { parseArgs } from "node:util";
import { Data } from "effect";
import { checkThreads } from "../runtime/threads.ts";

/** A command line that does not parse: names the flag and what it wanted. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

export type Flags = Record<string, string | boolean | undefined>;

export const parseFlags = (argv: readonly string[], spec: Record<string, "string" | "boolean">): Flags => {
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
  const ep = f.ep;
  if (ep !== undefined && ep !== "cpu" && ep !== "cuda") {
    throw new UsageError({ message: `--ep: expected cpu or cuda, found ${JSON.stringify(ep)}` });
  }
  const threads = f.threads === undefined ? undefined : intFlag(f, "threads", 0, 1);
  const bad = threads === undefined ? null : checkThreads(threads, "--threads");
  if (bad !== null) throw new UsageError({ message: bad.message });
  return {
    ...(typeof f.tokenizer === "string" ? { tokenizer: f.tokenizer } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(ep !== undefined ? { executionProvider: ep } : {}),
    ...(f["allow-long-context"] === true ? { allowLongContext: true } : {}),
  };
};
