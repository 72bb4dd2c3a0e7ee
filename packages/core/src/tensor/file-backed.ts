import type { HostTensor } from "./host-tensor.ts";

/** Where a tensor's float32 bytes sit in a file on disk (little-endian, row-major, 64-byte aligned). */
export interface FileBacking {
  readonly file: string;
  /** Byte offset of the first element. */
  readonly offset: number;
}

/**
 * Tensors (and their data arrays) whose bytes are also in a file: lowering to ONNX points the
 * initializer at the file (external data) instead of copying the bytes. Keyed weakly, so a
 * backed array is forgotten with it.
 */
const registry = new WeakMap<object, FileBacking>();

/** Record that `t` (a HostTensor, or a Float32Array holding a whole tensor) equals the file's bytes. */
export const markFileBacked = (t: object, backing: FileBacking): void => {
  registry.set(t, backing);
};

/**
 * The file holding `t`'s bytes, if any, without reading `t.data` when the tensor itself is
 * registered (a spilled tensor's data is read from disk on access).
 */
export const fileBacking = (t: HostTensor): FileBacking | undefined =>
  registry.get(t) ?? registry.get(t.data);
