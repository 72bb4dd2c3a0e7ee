import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { WeightFileError } from "../errors/errors.ts";

/**
 * Random-access bytes of one weight file. Readers ask for byte ranges instead of loading the whole
 * file, so multi-gigabyte shards never need one contiguous Buffer (Node caps readFileSync at 2 GiB).
 */
export interface ByteSource {
  /** The file path (or a label for in-memory bytes): every error names it. */
  readonly name: string;
  readonly size: number;
  /** Bytes [offset, offset + length) in a fresh, 0-based (hence 4-aligned) buffer. */
  read(offset: number, length: number): Uint8Array;
}

/** An in-memory byte source (tests, writeSafetensors round trips). */
export const bytesSource = (name: string, bytes: Uint8Array): ByteSource => ({
  name,
  size: bytes.length,
  read: (offset, length) => {
    checkRange(name, bytes.length, offset, length);
    // a copy (note Buffer#slice would be a view)
    return new Uint8Array(bytes.subarray(offset, offset + length));
  },
});

const checkRange = (name: string, size: number, offset: number, length: number): void => {
  if (!(offset >= 0 && length >= 0 && offset + length <= size)) {
    throw new WeightFileError({
      file: name,
      expected: `bytes [${offset}, ${offset + length}) inside the file`,
      found: `file size ${size}`,
    });
  }
};

/** readSync reads at most 2 GiB per call. */
const CHUNK = 1 << 30;

const ioError = (path: string, e: unknown): WeightFileError =>
  new WeightFileError({
    file: path,
    expected: "a readable file",
    found: e instanceof Error ? e.message : String(e),
  });

/**
 * Open `path`, run `f` on its bytes, close it. I/O failures (permissions, a directory, a file
 * shrinking underneath us) become WeightFileError naming the path.
 */
export const withFile = <A>(path: string, f: (src: ByteSource) => A): A => {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw ioError(path, e);
  }
  try {
    try {
      size = fstatSync(fd).size;
    } catch (e) {
      throw ioError(path, e);
    }
    const src: ByteSource = {
      name: path,
      size,
      read: (offset, length) => {
        checkRange(path, size, offset, length);
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          let n: number;
          try {
            n = readSync(fd, out, done, Math.min(length - done, CHUNK), offset + done);
          } catch (e) {
            throw ioError(path, e);
          }
          if (n === 0) {
            throw new WeightFileError({
              file: path,
              expected: `${length} bytes at offset ${offset}`,
              found: `end of file after ${done} (file changed while reading?)`,
            });
          }
          done += n;
        }
        return out;
      },
    };
    return f(src);
  } finally {
    closeSync(fd);
  }
};
