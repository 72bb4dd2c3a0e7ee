import { Data } from "effect";
import { isOneOf } from "./union.ts";

/**
 * Typed errors of patchbay's core. Each names where the problem is (file, tensor, field, site)
 * and says what was expected and what was found, so a user can fix the input without a debugger.
 * They are effect TaggedErrors (so Effect code can catchTag them) and also plain Errors (so
 * plain parsing code can throw them and tests can `toThrow` them).
 */

/** A weight file (safetensors, llama2.c .bin, GGUF) that cannot be read as declared. */
export class WeightFileError extends Data.TaggedError("WeightFileError")<{
  readonly file: string;
  readonly tensor?: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    const where = this.tensor === undefined ? this.file : `${this.file}: tensor ${this.tensor}`;
    return `${where}: expected ${this.expected}, found ${this.found}`;
  }
}

/** A config file (config.json, GGUF metadata, llama2.c header) with a missing or invalid field. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly file: string;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.file}: field ${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}

/** A tensor whose shape disagrees with the config, or a tensor the architecture needs that is absent. */
export class TensorShapeError extends Data.TaggedError("TensorShapeError")<{
  readonly file: string;
  readonly tensor: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.file}: tensor ${this.tensor}: expected ${this.expected}, found ${this.found}`;
  }
}

/** Something patchbay does not support (a dtype, an architecture, an activation). */
export class UnsupportedError extends Data.TaggedError("UnsupportedError")<{
  readonly file: string;
  readonly what: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.file}: unsupported ${this.what}: expected ${this.expected}, found ${this.found}`;
  }
}

/** A tokenizer file that cannot be read, or text/ids a tokenizer cannot handle. */
export class TokenizerError extends Data.TaggedError("TokenizerError")<{
  readonly file: string;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.file}: ${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}

/** Bad user input to a run: token ids out of range, an empty prompt, an unknown site name. */
export class InputError extends Data.TaggedError("InputError")<{
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}

/** The model path names nothing patchbay can load. */
export class ModelNotFoundError extends Data.TaggedError("ModelNotFoundError")<{
  readonly path: string;
  readonly expected: string;
}> {
  override get message(): string {
    return `${this.path}: no model found; expected ${this.expected}`;
  }
}

/** onnxruntime failed to create a session or run one. */
export class RuntimeError extends Data.TaggedError("RuntimeError")<{
  readonly model: string;
  readonly operation: string;
  readonly cause: unknown;
}> {
  override get message(): string {
    const c = this.cause instanceof Error ? this.cause.message : String(this.cause);
    return `${this.model}: ${this.operation} failed: ${c}`;
  }
}

/** A `builtin:<name>` model path whose name is not in the zoo registry; lists what is. */
export class UnknownBuiltinError extends Data.TaggedError("UnknownBuiltinError")<{
  readonly builtin: string;
  readonly available: readonly string[];
}> {
  override get message(): string {
    const list = this.available.map((n) => `builtin:${n}`).join(", ");
    return `builtin:${this.builtin}: no such builtin model; available: ${list === "" ? "(none)" : list}`;
  }
}

/** A task file (JSONL of clean/corrupted pairs) with a bad line; line is 1-based, 0 for the whole file. */
export class TaskFileError extends Data.TaggedError("TaskFileError")<{
  readonly file: string;
  readonly line: number;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    const where = this.line > 0 ? `${this.file}:${this.line}` : this.file;
    return `${where}: ${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}

/** Why a Hugging Face Hub download failed (HubError's `reason`). */
export type HubFailure =
  | "unauthorized" // 401: a private or missing repository, or no valid HF_TOKEN
  | "forbidden" // 403: the token lacks access
  | "gated" // X-Error-Code GatedRepo: the repository's conditions are not accepted
  | "repo-not-found"
  | "revision-not-found"
  | "file-not-found"
  | "network" // connection refused or reset, a cut transfer, a timeout
  | "disk-full" // ENOSPC while writing into the cache
  | "cache-unwritable" // the cache folder cannot be written (permissions, a read-only file system)
  | "checksum" // the sha256 of a downloaded file differs from the Hub's
  | "offline" // HF_HUB_OFFLINE is set and the cache lacks what is needed
  | "not-cached" // a synchronous load (no download) of a model not in the cache
  | "unsafe-name" // a repository, revision, file or etag that cannot be a cache path
  | "protocol"; // a response that does not follow the Hub's protocol

/**
 * A `hf:owner/name[@revision]` model that could not be downloaded or found in the cache. Names the
 * repository and the file; never contains the token.
 */
export class HubError extends Data.TaggedError("HubError")<{
  readonly repo: string;
  readonly file?: string;
  readonly reason: HubFailure;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    const where = this.file === undefined ? `hf:${this.repo}` : `hf:${this.repo}: ${this.file}`;
    return `${where}: ${this.reason}: expected ${this.expected}, found ${this.found}`;
  }
}

/** Every typed error of core, in one list: the union and its guard are both read from it. */
export const PATCHBAY_ERRORS = [
  WeightFileError,
  ConfigError,
  TensorShapeError,
  UnsupportedError,
  TokenizerError,
  InputError,
  ModelNotFoundError,
  RuntimeError,
  UnknownBuiltinError,
  TaskFileError,
  HubError,
] as const;

export type PatchbayError = InstanceType<(typeof PATCHBAY_ERRORS)[number]>;

/**
 * Whether a value is one of core's typed errors (PATCHBAY_ERRORS), recognised by its `_tag`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Errors } from "@patchbay/core";
 *
 * assert.ok(Errors.isPatchbayError(new Errors.InputError({ field: "ids", expected: "a list", found: "[]" })));
 * assert.equal(Errors.isPatchbayError(new TypeError("a bug")), false);
 * ```
 */
export const isPatchbayError = isOneOf(PATCHBAY_ERRORS);
