import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, type Stats } from "node:fs";
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

const kindOf = (st: Stats): string =>
  st.isDirectory()
    ? "a directory"
    : st.isFIFO()
      ? "a FIFO (named pipe)"
      : st.isSocket()
        ? "a socket"
        : st.isCharacterDevice()
          ? "a character device"
          : st.isBlockDevice()
            ? "a block device"
            : "not a regular file";

/**
 * Open `path` for reading and check it is a regular file (symlinks to one are fine), returning the
 * descriptor and the size. The open does not block (O_NONBLOCK: a FIFO with no writer would
 * otherwise hang here), and the check is on the opened descriptor, so nothing can swap the file in
 * between. Anything else (a FIFO, a socket, a device, a directory) is a WeightFileError naming the
 * path and what it is, before a byte is read.
 */
export const openRegularFile = (path: string): { readonly fd: number; readonly size: number } => {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw ioError(path, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new WeightFileError({ file: path, expected: "a regular file", found: kindOf(st) });
    }
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e instanceof WeightFileError ? e : ioError(path, e);
  }
};

/**
 * The whole of a small regular file (config.json, tokenizer files, a shard index): a FIFO, device
 * or directory is a WeightFileError before anything is read.
 */
export const readRegularFile = (path: string): Buffer => {
  const { fd } = openRegularFile(path);
  try {
    return readFileSync(fd);
  } catch (e) {
    throw ioError(path, e);
  } finally {
    closeSync(fd);
  }
};

/**
 * Open `path` (a regular file: see openRegularFile), run `f` on its bytes, close it. I/O failures
 * (permissions, a directory, a FIFO, a file shrinking underneath us) become WeightFileError naming
 * the path.
 */
export const withFile = <A>(path: string, f: (src: ByteSource) => A): A => {
  const { fd, size } = openRegularFile(path);
  try {
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
