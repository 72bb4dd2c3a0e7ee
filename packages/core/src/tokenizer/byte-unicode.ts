/**
 * GPT-2's reversible byte ↔ unicode table (encoder.py `bytes_to_unicode`): byte-level BPE works on
 * strings of printable characters, one per byte. Printable Latin-1 bytes map to themselves; the
 * other 68 bytes (controls, space, 0x7F–0xA0, 0xAD) map to U+0100 onwards, so space is "Ġ" (U+0120)
 * and newline is "Ċ" (U+010A).
 */

const printable = (b: number): boolean =>
  (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);

/** byteToChar[b] is the character standing for byte b. */
export const byteToChar: readonly string[] = (() => {
  const table: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    table.push(String.fromCharCode(printable(b) ? b : 256 + n++));
  }
  return table;
})();

/** The inverse: character → byte. */
export const charToByte: ReadonlyMap<string, number> = new Map(byteToChar.map((c, b) => [c, b]));
