/**
 * Text files from other people are decoded strictly: an invalid UTF-8 sequence is an error with
 * its line and byte column, never a U+FFFD that a run then computes with. A UTF-8 byte order mark
 * at the start is accepted and removed (editors on some systems write one).
 */

/** Where a file stops being UTF-8: 1-based line, 1-based byte column in that line, 0-based offset. */
export interface InvalidUtf8 {
  readonly file: string;
  readonly line: number;
  /** 1-based, in bytes from the line's start */
  readonly column: number;
  /** 0-based byte offset of the first byte of the bad sequence */
  readonly offset: number;
  /** the bad sequence's bytes as hex ("0xff", "0xe2 0x28") */
  readonly bytes: string;
}

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Bytes a well-formed sequence starting with `lead` may have second (Unicode Table 3-7), or null. */
const secondRange = (lead: number): readonly [number, number, number] | null => {
  // [low, high, continuation bytes after the lead]
  if (lead >= 0xc2 && lead <= 0xdf) return [0x80, 0xbf, 1];
  if (lead === 0xe0) return [0xa0, 0xbf, 2];
  if ((lead >= 0xe1 && lead <= 0xec) || lead === 0xee || lead === 0xef) return [0x80, 0xbf, 2];
  if (lead === 0xed) return [0x80, 0x9f, 2]; // no surrogates
  if (lead === 0xf0) return [0x90, 0xbf, 3]; // no overlong 4-byte forms
  if (lead >= 0xf1 && lead <= 0xf3) return [0x80, 0xbf, 3];
  if (lead === 0xf4) return [0x80, 0x8f, 3]; // nothing past U+10FFFF
  return null;
};

/** The offset and length of the first ill-formed sequence, or null when the bytes are UTF-8. */
const firstInvalid = (b: Uint8Array): { readonly offset: number; readonly length: number } | null => {
  let i = 0;
  while (i < b.length) {
    const lead = b[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const r = secondRange(lead);
    if (r === null) return { offset: i, length: 1 };
    const [lo, hi, more] = r;
    // the maximal prefix of a well-formed sequence is one bad sequence (as decoders count them)
    if (i + 1 >= b.length || b[i + 1]! < lo || b[i + 1]! > hi) return { offset: i, length: 1 };
    let k = 2;
    while (k <= more) {
      const c = b[i + k];
      if (c === undefined || c < 0x80 || c > 0xbf) return { offset: i, length: k };
      k++;
    }
    i += more + 1;
  }
  return null;
};

/**
 * The text of a file's bytes, or where it is not UTF-8. A leading byte order mark (EF BB BF) is
 * removed. Overlong forms, surrogates (ED A0..BF) and code points past U+10FFFF are invalid.
 */
export const decodeUtf8Strict = (bytes: Uint8Array, file: string): string | InvalidUtf8 => {
  try {
    return strict.decode(bytes);
  } catch {
    const bad = firstInvalid(bytes) ?? { offset: bytes.length, length: 0 }; // (decoder and scan agree)
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < bad.offset; i++)
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    const seq = Array.from(
      bytes.subarray(bad.offset, bad.offset + Math.max(1, bad.length)),
      (x) => `0x${x.toString(16).padStart(2, "0")}`,
    ).join(" ");
    return { file, line, column: bad.offset - lineStart + 1, offset: bad.offset, bytes: seq };
  }
};

/** "file:line:column" and what was found, for an error message. */
export const describeInvalidUtf8 = (e: InvalidUtf8): string =>
  `the byte${e.bytes.includes(" ") ? "s" : ""} ${e.bytes} at line ${e.line}, byte ${e.column} (not UTF-8)`;
