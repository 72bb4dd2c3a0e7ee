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
      type: 16, // IQ2_XXS
      bytes: new Uint8Array(66),
      offset,
    });
    const e = headerError(write(makeGguf(kv, [q("qa", 0), q("qb", 0)])));
    expect(e._tag).toBe("WeightFileError");
    expect(e.tensor).toBe("qb");
    expect(e.expected).toContain("IQ2_XXS data starting at 0");
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

  it("Q2_K and Q3_K tensors are dequantised at load, block after block along the rows", () => {
    // Q2_K [2, 256]: row 0 has d = 1, dmin = 0.5, sub-block 0 scale 2 / min 4 and weight 0 q = 3;
    // row 1 has d = 0.25, dmin = 0 and every scale 0 → all zeros
    const q2 = new Uint8Array(2 * 84);
    q2[0] = 0x42;
    q2[16] = 0x03;
    q2.set([0x00, 0x3c, 0x00, 0x38], 80);
    q2.set([0x00, 0x34], 84 + 80);
    // Q3_K [256]: scale bytes 0 → every stored scale 0, i.e. −32; q 0 with its hmask bit clear → −4
    const q3 = new Uint8Array(110);
    q3.set([0x00, 0x38], 108); // d = 0.5
    const file = write(
      makeGguf(kv, [
        { name: "q2", ne: [256, 2], type: 10, bytes: q2 },
        { name: "q3", ne: [256], type: 11, bytes: q3 },
      ]),
    );
    const header = readGgufHeader(file);
    expect(header.tensors.map((t) => t.typeName)).toEqual(["Q2_K", "Q3_K"]);
    const table = ggufTable(file, header);
    const y2 = table.read("q2");
    expect([...y2.shape]).toEqual([2, 256]);
    // 1·2·3 − 0.5·4, weight 1: 1·2·0 − 0.5·4, weight 16 (scale 0, min 0): 0, row 1: 0
    expect([y2.data[0], y2.data[1], y2.data[16], y2.data[256]]).toEqual([4, -2, 0, 0]);
    const y3 = table.read("q3");
    expect(new Set(y3.data)).toEqual(new Set([64])); // 0.5·(0 − 32)·(0 − 4)
  });

  it("a tensor of a type we do not decode → UnsupportedError naming it and the types we do", () => {
    const file = write(makeGguf(kv, [{ name: "iq", ne: [256], type: 16, bytes: new Uint8Array(66) }]));
    try {
      ggufTable(file, readGgufHeader(file)).read("iq");
      expect.unreachable();
    } catch (e) {
      const u = e as { _tag: string; what: string; expected: string; found: string };
      expect([u._tag, u.what, u.found]).toEqual(["UnsupportedError", "type of tensor iq", "IQ2_XXS"]);
      for (const t of [
        "F16",
        "BF16",
        "Q8_0",
        "Q4_0",
        "Q4_1",
        "Q5_0",
        "Q5_1",
        "Q2_K",
        "Q3_K",
        "Q4_K",
        "Q5_K",
        "Q6_K",
      ])
        expect(u.expected).toContain(t);
    }
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
