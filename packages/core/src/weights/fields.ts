import { ConfigError, UnsupportedError } from "../errors/errors.ts";
import type { Activation } from "../model/config.ts";
import { Either } from "effect";
import { FORBIDDEN_KEYS_EXPECTED, forbiddenKeyPath } from "../text/keys.ts";
import { decodeUtf8Strict, describeInvalidUtf8 } from "../text/utf8.ts";
import { readRegularFile } from "./bytes.ts";

/**
 * Typed reads of config fields (config.json, GGUF metadata, llama2.c header). Every failure is a
 * ConfigError naming the file and the field, with what was expected and what was found.
 */

export const describeValue = (v: unknown): string => {
  if (v === undefined) return "nothing (field absent)";
  if (typeof v === "bigint") return `${v}`;
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

export class Fields {
  constructor(
    readonly file: string,
    private readonly obj: Readonly<Record<string, unknown>>,
  ) {}

  has(field: string): boolean {
    const v = this.obj[field];
    return v !== undefined && v !== null;
  }

  raw(field: string): unknown {
    return this.obj[field];
  }

  fail(field: string, expected: string, found: unknown): never {
    throw new ConfigError({ file: this.file, field, expected, found: describeValue(found) });
  }

  /** A positive integer (min 1 unless given). */
  int(field: string, min = 1): number {
    const v = this.obj[field];
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= min) return v;
    if (typeof v === "bigint" && v >= BigInt(min) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    return this.fail(field, `an integer ≥ ${min}`, v);
  }

  /** Absent or null → the default. */
  intOr(field: string, dflt: number, min = 1): number {
    return this.has(field) ? this.int(field, min) : dflt;
  }

  /** A finite number in [min, max]. */
  num(field: string, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): number {
    const v = this.obj[field];
    if (typeof v === "number" && Number.isFinite(v) && v >= min && v <= max) return v;
    const range = `${Number.isFinite(min) ? `≥ ${min}` : ""}${Number.isFinite(min) && Number.isFinite(max) ? " and " : ""}${Number.isFinite(max) ? `≤ ${max}` : ""}`;
    return this.fail(field, `a finite number${range === "" ? "" : ` ${range}`}`, v);
  }

  numOr(field: string, dflt: number, min?: number, max?: number): number {
    return this.has(field) ? this.num(field, min, max) : dflt;
  }

  bool(field: string): boolean {
    const v = this.obj[field];
    return typeof v === "boolean" ? v : this.fail(field, "true or false", v);
  }

  boolOr(field: string, dflt: boolean): boolean {
    return this.has(field) ? this.bool(field) : dflt;
  }

  str(field: string): string {
    const v = this.obj[field];
    return typeof v === "string" ? v : this.fail(field, "a string", v);
  }

  strOr(field: string, dflt: string): string {
    return this.has(field) ? this.str(field) : dflt;
  }

  /** A field that would change the forward in a way we do not implement: must be absent or `ok`. */
  unsupportedUnless(field: string, ok: (v: unknown) => boolean, expected: string): void {
    const v = this.obj[field];
    if (v === undefined || v === null || ok(v)) return;
    throw new UnsupportedError({
      file: this.file,
      what: `config field ${field}`,
      expected,
      found: describeValue(v),
    });
  }
}

/** Read and parse a JSON object file; failures name the file. */
export const readJsonObject = (path: string): Record<string, unknown> => {
  // a FIFO, device or directory is a WeightFileError here, before anything is read
  const decoded = decodeUtf8Strict(readRegularFile(path));
  if (Either.isLeft(decoded))
    throw new ConfigError({
      file: `${path}:${decoded.left.line}:${decoded.left.column}`,
      field: "(whole file)",
      expected: "UTF-8 text",
      found: describeInvalidUtf8(decoded.left),
    });
  const text = decoded.right;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError({
      file: path,
      field: "(whole file)",
      expected: "valid JSON",
      found: e instanceof Error ? e.message : String(e),
    });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ConfigError({
      file: path,
      field: "(whole file)",
      expected: "a JSON object",
      found: describeValue(v),
    });
  }
  const forbidden = forbiddenKeyPath(v);
  if (forbidden !== null)
    throw new ConfigError({
      file: path,
      field: forbidden,
      expected: FORBIDDEN_KEYS_EXPECTED,
      found: forbidden,
    });
  return v as Record<string, unknown>;
};

/**
 * Activation names across Hugging Face and TransformerLens → ours.
 * gelu_new / gelu_pytorch_tanh / gelu_fast are all 0.5x(1+tanh(√(2/π)(x+0.044715x³))).
 */
const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  gelu_new: "gelu_tanh",
  gelu_pytorch_tanh: "gelu_tanh",
  gelu_fast: "gelu_tanh",
  gelu: "gelu",
  relu: "relu",
  silu: "silu",
  swish: "silu",
};

export const activation = (f: Fields, field: string, dflt?: string): Activation => {
  const name = dflt === undefined ? f.str(field) : f.strOr(field, dflt);
  const act = Object.hasOwn(ACTIVATIONS, name) ? ACTIVATIONS[name] : undefined;
  if (act === undefined) {
    throw new UnsupportedError({
      file: f.file,
      what: `activation (${field})`,
      expected: Object.keys(ACTIVATIONS).join(", "),
      found: name,
    });
  }
  return act;
};
