import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, type Scope } from "effect";
import { WeightFileError } from "../errors/errors.ts";
import type { Weights } from "../model/weights.ts";
import { markFileBacked } from "../tensor/file-backed.ts";
import { type HostTensor, numel } from "../tensor/host-tensor.ts";
import { withFile } from "./bytes.ts";

/**
 * A tensor whose float32 bytes live in `file` at `offset`: `data` reads them on first access and
 * keeps the array only while something else holds it (a WeakRef), so the host does not keep a
 * second copy of weights that ORT already holds. The tensor and each array it hands out are
 * marked file-backed, so ONNX lowering points initializers at the file instead of copying them.
 */
const spilledTensor = (file: string, offset: number, shape: readonly number[]): HostTensor => {
  let held: WeakRef<Float32Array> | undefined;
  const t: HostTensor = {
    shape,
    get data(): Float32Array {
      const alive = held?.deref();
      if (alive !== undefined) return alive;
      const bytes = withFile(file, (src) => src.read(offset, numel(shape) * 4)).buffer;
      const data = new Float32Array(bytes);
      markFileBacked(data, { file, offset });
      held = new WeakRef(data);
      return data;
    },
  };
  markFileBacked(t, { file, offset });
  return t;
};

/** Release an ArrayBuffer's memory now that its bytes are on disk: detach it (the clone is garbage). */
const release = (b: ArrayBuffer): void => {
  structuredClone(b, { transfer: [b] });
};

/**
 * Write the tensors one at a time into `file`, 64-byte aligned; return them as spilled tensors.
 * With `consume`, each source tensor that owns its whole buffer has it detached once written, so
 * the memory goes even where a stray reference to the source remains; a later name for the same
 * array (tied weights) points at the bytes already written.
 */
const writeAll = (
  file: string,
  tensors: Iterable<readonly [string, HostTensor]>,
  consume: boolean,
): Map<string, HostTensor> => {
  const out = new Map<string, HostTensor>();
  const released = new WeakMap<ArrayBufferLike, number>();
  const fd = openSync(file, "w");
  try {
    let offset = 0;
    for (const [name, t] of tensors) {
      const d = t.data;
      const at = released.get(d.buffer);
      if (at !== undefined) {
        out.set(name, spilledTensor(file, at, [...t.shape]));
        continue;
      }
      const pad = (64 - (offset % 64)) % 64;
      if (pad > 0) writeSync(fd, new Uint8Array(pad), 0, pad, offset);
      offset += pad;
      const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      // writeSync writes at most 2 GiB per call
      for (let done = 0; done < bytes.length; )
        done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
      out.set(name, spilledTensor(file, offset, [...t.shape]));
      const whole = d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.byteLength > 0;
      if (consume && whole && d.buffer instanceof ArrayBuffer) {
        released.set(d.buffer, offset);
        release(d.buffer); // bytes.length is 0 from here on
      }
      offset += numel(t.shape) * 4;
    }
  } finally {
    closeSync(fd);
  }
  return out;
};

/**
 * Move weights out of the JS heap into a temporary file (under the OS temp folder, removed when
 * the Scope closes), tensor by tensor: the result reads each tensor back on access, and a session
 * built from it takes the bytes straight from that file (ONNX external data), so a model's
 * float32 weights are held once — by ORT — rather than once by ORT and once by the host. Pass a
 * lazy iterable (a generator) to never hold more than one tensor of the source at a time. The
 * bytes, hence every result, are identical to the source's. Spilled weights are read-only: an edit
 * to an array they hand out is not written back (and a session would not see it). With
 * `{ consume: true }` the source's arrays are emptied (detached) as they are written, freeing
 * their memory at once: for weights nothing else will read, such as a model just loaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Weights } from "@patchbay/core";
 * import { Effect } from "effect";
 *
 * const w = new Map([["embed.W_E", { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }]]);
 * const back = await Effect.runPromise(
 *   Effect.scoped(Effect.map(Weights.spill(w), (s) => [...s.get("embed.W_E")!.data])),
 * );
 * assert.deepEqual(back, [1, 2, 3, 4]);
 * ```
 */
export const spill = (
  tensors: Iterable<readonly [string, HostTensor]>,
  opts: { readonly consume?: boolean } = {},
): Effect.Effect<Weights, WeightFileError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      try: () => mkdtempSync(join(tmpdir(), "patchbay-weights-")),
      catch: (e) =>
        new WeightFileError({ file: tmpdir(), expected: "a writable temporary folder", found: String(e) }),
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
  ).pipe(
    Effect.flatMap((dir) =>
      Effect.try({
        try: () => writeAll(join(dir, "weights.f32"), tensors, opts.consume ?? false),
        catch: (e) =>
          e instanceof WeightFileError
            ? e
            : new WeightFileError({
                file: join(dir, "weights.f32"),
                expected: "room to write the spilled weights",
                found: String(e),
              }),
      }),
    ),
  );
