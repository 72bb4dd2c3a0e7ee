import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ggufTable, readGgufHeader } from "./gguf.ts";
import { loadModelSync } from "./load.ts";
import { f32Bytes, type GgufTensorSpec, makeGguf, noise, tempDir } from "./test-support.ts";

/**
 * GGUF data layout: every tensor's data must lie inside the file, start at a multiple of
 * general.alignment, and share no byte with another tensor. Each violation is a WeightFileError
 * naming the file and the tensor (both tensors, for an overlap), found before any data is read.
 */

const f32 = (name: string, n: number, offset?: number): GgufTensorSpec => ({
  name,
  ne: [n],
  type: 0,
  bytes: f32Bytes(noise(n, n)),
  ...(offset === undefined ? {} : { offset }),
});

const write = (bytes: Uint8Array): string => {
  const file = join(tempDir(), "m.gguf");
  writeFileSync(file, bytes);
  return file;
};

const headerError = (file: string) => {
  try {
    readGgufHeader(file);
  } catch (e) {
    return e as { _tag: string; tensor?: string; expected: string; found: string; message: string };
  }
  throw new Error("expected the header to be refused");
};

const kv = [{ key: "general.architecture", type: "string" as const, value: "llama" }];

describe("GGUF tensor data layout", () => {
  it("the well-formed file parses, tensors one after another at aligned offsets", () => {
    const h = readGgufHeader(write(makeGguf(kv, [f32("a", 10), f32("b", 8), f32("c", 3)])));
    expect(h.tensors.map((t) => t.offset - h.dataStart)).toEqual([0, 64, 96]);
  });

  it("overlapping tensors → WeightFileError naming both", () => {
    // a: 10 floats = bytes [0, 40); b placed at 32 shares bytes [32, 40) with it
    const file = write(makeGguf(kv, [f32("a", 10), f32("b", 8, 32), f32("c", 3)]));
    const e = headerError(file);
    expect(e._tag).toBe("WeightFileError");
    expect(e.tensor).toBe("b");
    expect(e.expected).toContain("not overlapping tensor a");
    expect(e.expected).toContain("bytes [0, 40)");
    expect(e.found).toBe("offset 32");
    expect(e.message).toContain(file);
  });

  it("two tensors at the same offset → WeightFileError (whatever the listing order)", () => {
    const e = headerError(write(makeGguf(kv, [f32("a", 4, 64), f32("b", 4, 0), f32("c", 4, 64)])));
    expect(e._tag).toBe("WeightFileError");
    expect([e.tensor, e.expected]).toEqual(["c", expect.stringContaining("not overlapping tensor a")]);
  });

  it("quantised tensors of a type we do not decode (size unknown to us) sharing an offset are refused too", () => {
    const q = (name: string, offset: number): GgufTensorSpec => ({
      name,
      ne: [256],
      type: 10, // Q2_K
      bytes: new Uint8Array(84),
      offset,
    });
    const e = headerError(write(makeGguf(kv, [q("qa", 0), q("qb", 0)])));
    expect(e._tag).toBe("WeightFileError");
    expect(e.tensor).toBe("qb");
    expect(e.expected).toContain("Q2_K data starting at 0");
  });

  it("a Q8_0 tensor is dequantised at load (y = d·q); a row that is not whole blocks is refused", () => {
    const block = new Uint8Array(34);
    new DataView(block.buffer).setUint16(0, 0x3800, true); // d = 0.5
    block.set([0xfe, 3], 2); // q0 = −2, q1 = 3
    const file = write(makeGguf(kv, [{ name: "q", ne: [32], type: 8, bytes: block, offset: 0 }]));
    const header = readGgufHeader(file);
    const t = ggufTable(file, header).read("q");
    expect([...t.shape]).toEqual([32]);
    expect([t.data[0], t.data[1], t.data[2]]).toEqual([-1, 1.5, 0]);
    const ragged = write(
      makeGguf(kv, [{ name: "r", ne: [16], type: 2, bytes: new Uint8Array(18), offset: 0 }]),
    );
    const e = headerError(ragged);
    expect([e._tag, e.tensor, e.expected]).toEqual([
      "WeightFileError",
      "r",
      "rows of whole Q4_0 blocks (32 weights)",
    ]);
  });

  it("an offset past the end of the file → WeightFileError naming the tensor", () => {
    const e = headerError(write(makeGguf(kv, [f32("a", 4), f32("b", 4, 1 << 20)])));
    expect(e._tag).toBe("WeightFileError");
    expect(e.tensor).toBe("b");
    expect(e.expected).toContain("inside the file");
  });

  it("data running past the end of the file → WeightFileError naming the tensor", () => {
    const bytes = makeGguf(kv, [f32("a", 4), f32("b", 8)]);
    const e = headerError(write(bytes.subarray(0, bytes.length - 4)));
    expect(e._tag).toBe("WeightFileError");
    expect(e.tensor).toBe("b");
  });

  it("an offset not a multiple of general.alignment → WeightFileError naming the tensor and the alignment", () => {
    const e = headerError(write(makeGguf(kv, [f32("a", 4), f32("b", 4, 48)])));
    expect(e._tag).toBe("WeightFileError");
    expect(e.tensor).toBe("b");
    expect(e.expected).toBe("an offset aligned to 32");
    expect(e.found).toBe("48");
    // the same offset is fine under alignment 16 (written with the key, so the parser uses it)
    const kv16 = [...kv, { key: "general.alignment", type: "u32" as const, value: 16 }];
    const h = readGgufHeader(write(makeGguf(kv16, [f32("a", 4), f32("c", 4), f32("d", 4), f32("b", 4)], 16)));
    expect(h.alignment).toBe(16);
    expect(h.tensors[3]!.offset - h.dataStart).toBe(48);
  });

  it("through loadModelSync the overlap is the same typed error", () => {
    const file = write(makeGguf(kv, [f32("a", 10), f32("b", 8, 32)]));
    try {
      loadModelSync(file);
      expect.unreachable();
    } catch (e) {
      expect((e as { _tag: string })._tag).toBe("WeightFileError");
      expect((e as Error).message).toContain("not overlapping tensor a");
    }
  });
});
