import { Either } from "effect";

/**
 * Strict UTF-8 for files a user gives us (task files, experiment files). Node's default decoding
 * turns invalid bytes into U+FFFD and goes on, so a file with a broken byte would silently mean
 * something else; here it is an error that says where.
 */

/** Where a byte sequence stops being UTF-8: 0-based byte offset, 1-based line and byte column. */
export interface InvalidUtf8 {
  readonly offset: number;
  readonly line: number;
  /** 1-based, in bytes from the start of the line. */
  readonly column: number;
  /** The byte that breaks and the continuation bytes after it (up to 4 in all), in hex: "0xe2 0x82". */
  readonly bytes: string;
}

const strict = new TextDecoder("utf-8", { fatal: true });

/** Length of the valid sequence starting at i, or 0 when bytes[i] starts an invalid one (RFC 3629). */
const sequenceLength = (b: Uint8Array, i: number): number => {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0; // no overlong forms
    if (c === 0xed) hi = 0x9f; // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90; // no overlong forms
    if (c === 0xf4) hi = 0x8f; // nothing above U+10FFFF
  } else return 0;
  if (i + n > b.length) return 0;
  const second = b[i + 1]!;
  if (second < lo || second > hi) return 0;
  for (let k = 2; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  return n;
};

/**
 * The first place `bytes` is not UTF-8, or null when all of it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findInvalidUtf8 } from "@patchbay/core/text";
 *
 * const where = findInvalidUtf8(new Uint8Array([0x61, 0x0a, 0x62, 0xff]));
 * assert.deepEqual(where, { offset: 3, line: 2, column: 2, bytes: "0xff" });
 * ```
 */
export const findInvalidUtf8 = (bytes: Uint8Array): InvalidUtf8 | null => {
  let line = 1;
  let lineStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      // the byte that breaks, with the continuation bytes that follow it
      let end = i + 1;
      while (end < bytes.length && end < i + 4 && (bytes[end]! & 0xc0) === 0x80) end++;
      const bad = Array.from(bytes.subarray(i, end), (x) => `0x${x.toString(16).padStart(2, "0")}`).join(" ");
      return { offset: i, line, column: i - lineStart + 1, bytes: bad };
    }
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
    i += n;
  }
  return null;
};

/**
 * Decode UTF-8 text, or say where it is not UTF-8. A leading byte-order mark is dropped (as
 * editors write it); nothing else is changed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUtf8Strict } from "@patchbay/core/text";
 * import { Either } from "effect";
 *
 * assert.deepEqual(decodeUtf8Strict(new TextEncoder().encode("héllo")), Either.right("héllo"));
 * assert.ok(Either.isLeft(decodeUtf8Strict(new Uint8Array([0xc3]))));
 * ```
 */
export const decodeUtf8Strict = (bytes: Uint8Array): Either.Either<string, InvalidUtf8> => {
  try {
    return Either.right(strict.decode(bytes));
  } catch {
    const where = findInvalidUtf8(bytes);
    // TextDecoder and the scan implement the same rules; should they ever disagree, say so plainly
    return Either.left(where ?? { offset: 0, line: 1, column: 1, bytes: "(undetermined)" });
  }
};

/**
 * How InvalidUtf8 reads in an error's `found`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeInvalidUtf8, findInvalidUtf8 } from "@patchbay/core/text";
 *
 * const where = findInvalidUtf8(new Uint8Array([0x61, 0xff]))!;
 * assert.equal(describeInvalidUtf8(where), "invalid UTF-8 at byte column 2 (byte 1 of the file: 0xff)");
 * ```
 */
export const describeInvalidUtf8 = (e: InvalidUtf8): string =>
  `invalid UTF-8 at byte column ${e.column} (byte ${e.offset} of the file: ${e.bytes})`;
