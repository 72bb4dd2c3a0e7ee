import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPatchbayError } from "../errors/errors.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { testdataPath } from "../testing/testdata.ts";
import { bytesSource } from "./bytes.ts";
import { loadModelSync } from "./load.ts";
import {
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensors,
  readSafetensorsTensor,
  writeSafetensors,
} from "./safetensors.ts";
import { rawSafetensors, tempDir } from "./test-support.ts";

/** Run f, return the thrown error (fails the test if nothing is thrown). */
const thrown = (f: () => unknown): { _tag: string; message: string } => {
  try {
    f();
  } catch (e) {
    expect(isPatchbayError(e), `not a typed error: ${String(e)}`).toBe(true);
    return e as { _tag: string; message: string };
  }
  throw new Error("expected an error");
};

const f32 = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);

describe("writeSafetensors / parseSafetensors round trip", () => {
  const tensorArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 }).chain((shape) =>
    fc
      .float32Array({
        minLength: shape.reduce((a, b) => a * b, 1),
        maxLength: shape.reduce((a, b) => a * b, 1),
      })
      .map((data): HostTensor => ({ data, shape })),
  );

  it("returns the same tensors, shapes, bits and metadata", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1 }).filter((k) => k !== "__metadata__"),
          tensorArb,
          { maxKeys: 5 },
        ),
        fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), { nil: undefined }),
        (tensors, metadata) => {
          const bytes = writeSafetensors(tensors, metadata);
          const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
          expect((8 + headerLen) % 8).toBe(0); // data section aligned
          const back = parseSafetensors(bytes);
          expect([...back.tensors.keys()].sort()).toEqual(Object.keys(tensors).sort());
          for (const [name, t] of Object.entries(tensors)) {
            const u = back.tensors.get(name)!;
            expect(u.shape).toEqual(t.shape);
            expect(new Uint32Array(u.data.buffer, u.data.byteOffset, u.data.length)).toEqual(
              new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length),
            );
          }
          expect(back.metadata).toEqual(metadata ?? {});
        },
      ),
      { numRuns: 100 },
    );
  });

  it("keeps awkward names such as __proto__ as ordinary tensors and metadata keys", () => {
    const t = new Map([["__proto__", { data: new Float32Array([7]), shape: [1] }]]);
    const back = parseSafetensors(writeSafetensors(t, JSON.parse('{"__proto__": "x", "constructor": "y"}')));
    expect([...back.tensors.keys()]).toEqual(["__proto__"]);
    expect(Object.entries(back.metadata)).toEqual([
      ["__proto__", "x"],
      ["constructor", "y"],
    ]);
  });

  it("accepts a Node Buffer at an unaligned byteOffset (copies, never Buffer#slice views)", () => {
    const bytes = writeSafetensors({ w: { data: new Float32Array([1.5, -2]), shape: [2] } });
    const big = Buffer.alloc(bytes.length + 3);
    big.set(bytes, 3);
    const view = big.subarray(3); // byteOffset 3 (mod 4)
    expect([...parseSafetensors(view).tensors.get("w")!.data]).toEqual([1.5, -2]);
  });

  it("round-trips through a file", () => {
    const path = join(tempDir(), "x.safetensors");
    const t = { data: new Float32Array([1, -2, 3.5, 0, Number.POSITIVE_INFINITY, -0]), shape: [2, 3] };
    writeFileSync(path, writeSafetensors(new Map([["w", t]]), { format: "pt" }));
    const back = readSafetensors(path);
    expect(back.metadata).toEqual({ format: "pt" });
    expect([...back.tensors.get("w")!.data]).toEqual([...t.data]);
  });
});

describe("safetensors dtypes", () => {
  it("decodes F16 and BF16 tensors to float32", () => {
    const data = new Uint8Array(
      new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00, 0x3f80, 0xc000, 0x4049, 0xff80]).buffer,
    );
    const bytes = rawSafetensors(
      {
        h: { dtype: "F16", shape: [4], data_offsets: [0, 8] },
        b: { dtype: "BF16", shape: [2, 2], data_offsets: [8, 16] },
      },
      data,
    );
    const t = parseSafetensors(bytes).tensors;
    expect([...t.get("h")!.data]).toEqual([1, -2, 2 ** -24, Number.POSITIVE_INFINITY]);
    expect(t.get("b")!.shape).toEqual([2, 2]);
    expect([...t.get("b")!.data]).toEqual([1, -2, 3.140625, Number.NEGATIVE_INFINITY]);
  });

  it("converts F16 and BF16 tensor by tensor: decoding one reads only its own bytes (issue 16 §4)", () => {
    const data = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3f80, 0xc000, 0x4049, 0xff80]).buffer);
    const bytes = rawSafetensors(
      {
        h: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
        b: { dtype: "BF16", shape: [4], data_offsets: [4, 12] },
      },
      data,
    );
    const inner = bytesSource("t.safetensors", bytes);
    const reads: number[][] = [];
    const read = (o: number, n: number) => {
      reads.push([o, n]);
      return inner.read(o, n);
    };
    const src = { ...inner, read };
    const header = parseSafetensorsHeader(src);
    reads.length = 0;
    const b = header.entries.get("b")!;
    expect([...readSafetensorsTensor(src, b).data]).toEqual([1, -2, 3.140625, Number.NEGATIVE_INFINITY]);
    expect(reads).toEqual([[b.begin, 8]]); // the 8 bytes of b, not the file and not h
  });

  it("refuses other dtypes with UnsupportedError naming tensor and dtype", () => {
    const bytes = rawSafetensors(
      { ids: { dtype: "I64", shape: [2], data_offsets: [0, 16] } },
      new Uint8Array(16),
    );
    const e = thrown(() => parseSafetensors(bytes, "ids.safetensors"));
    expect(e._tag).toBe("UnsupportedError");
    expect(e.message).toContain("ids.safetensors");
    expect(e.message).toContain("tensor ids");
    expect(e.message).toContain("I64");
  });

  it("parses a header with an unsupported dtype without decoding it (lazy)", () => {
    const bytes = rawSafetensors(
      {
        ids: { dtype: "I64", shape: [2], data_offsets: [0, 16] },
        w: { dtype: "F32", shape: [1], data_offsets: [16, 20] },
      },
      new Uint8Array(20),
    );
    const h = parseSafetensorsHeader(bytesSource("lazy.safetensors", bytes));
    expect(h.entries.get("ids")!.dtype).toBe("I64");
  });
});

describe("safetensors bad input: typed WeightFileError naming file (and tensor), expected vs found", () => {
  const ok = { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  const cases: [string, () => Uint8Array, string[]][] = [
    ["fewer than 8 bytes", () => new Uint8Array(5), ["at least 8 bytes", "5 bytes"]],
    [
      "header length past the end of the file",
      () => {
        const b = rawSafetensors(ok, f32([1, 2]));
        new DataView(b.buffer).setUint32(0, 10_000, true);
        return b;
      },
      ["header length", "10000"],
    ],
    [
      "header length of 2^40",
      () => {
        const b = rawSafetensors(ok, f32([1, 2]));
        new DataView(b.buffer).setUint32(4, 256, true);
        return b;
      },
      ["header length"],
    ],
    ["invalid JSON", () => rawSafetensors(ok).map((x, i) => (i === 9 ? 0x7b : x)), ["JSON"]],
    ["a JSON array", () => rawSafetensors([1, 2]), ["JSON object"]],
    [
      "data_offsets past the data section",
      () => rawSafetensors({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, f32([1])),
      ["tensor w", "data_offsets end ≤ 4"],
    ],
    [
      "begin > end",
      () => rawSafetensors({ w: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }, f32([1, 2])),
      ["tensor w", "begin ≤ end"],
    ],
    [
      "byte length disagreeing with shape × dtype",
      () => rawSafetensors({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32([1, 2])),
      ["tensor w", "12 bytes", "8 bytes"],
    ],
    [
      "a negative dimension",
      () => rawSafetensors({ w: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, f32([1, 2])),
      ["tensor w", "non-negative integers"],
    ],
    [
      "a fractional dimension",
      () => rawSafetensors({ w: { dtype: "F32", shape: [1.5], data_offsets: [0, 8] } }, f32([1, 2])),
      ["tensor w", "non-negative integers"],
    ],
    [
      "overlapping tensors",
      () =>
        rawSafetensors(
          {
            a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
          },
          f32([1, 2, 3]),
        ),
      ["tensor b", "not overlapping tensor a"],
    ],
    [
      "a gap between tensors",
      () =>
        rawSafetensors(
          {
            a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
            b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
          },
          f32([1, 2, 3]),
        ),
      ["tensor b", "starting at 4, where tensor a ends", "a gap of 4 bytes"],
    ],
    [
      "a gap before the first tensor",
      () => rawSafetensors({ w: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32([1, 2])),
      ["tensor w", "starting at 0, the start of the data section", "a gap of 4 bytes"],
    ],
    [
      "trailing bytes after the last tensor",
      () => rawSafetensors(ok, new Uint8Array([...f32([1, 2]), 7])),
      ["exactly 8 bytes", "9 bytes after the header", "1 bytes past the last tensor"],
    ],
    [
      "a zero-size tensor inside another",
      () =>
        rawSafetensors(
          {
            a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            z: { dtype: "F32", shape: [0], data_offsets: [4, 4] },
          },
          f32([1, 2]),
        ),
      ["tensor z", "not overlapping tensor a"],
    ],
    ["non-string metadata", () => rawSafetensors({ __metadata__: { k: 1 } }), ["__metadata__", "string"]],
    [
      "a tensor that is not an object",
      () => rawSafetensors({ w: [1, 2] }),
      ["tensor w", "{dtype, shape, data_offsets}"],
    ],
  ];
  for (const [what, make, parts] of cases) {
    it(what, () => {
      const e = thrown(() => parseSafetensors(make(), "bad.safetensors"));
      expect(e._tag).toBe("WeightFileError");
      expect(e.message).toContain("bad.safetensors");
      expect(e.message).toContain("expected");
      for (const p of parts) expect(e.message).toContain(p);
    });
  }

  it("zero-size tensors at the boundaries and an empty file are fine", () => {
    const b = rawSafetensors(
      {
        z0: { dtype: "F32", shape: [0], data_offsets: [0, 0] },
        w: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        z1: { dtype: "F32", shape: [0, 3], data_offsets: [8, 8] },
      },
      f32([1, 2]),
    );
    expect([...parseSafetensors(b).tensors.keys()].sort()).toEqual(["w", "z0", "z1"]);
    expect(parseSafetensors(rawSafetensors({})).tensors.size).toBe(0);
  });

  it("a header length off by any amount is a typed error, never misread weights", () => {
    // writeSafetensors pads the JSON with spaces: one byte short still parses as JSON, and used
    // to shift every tensor by a byte (garbage weights, no error).
    const bytes = writeSafetensors({
      a: { data: Float32Array.from([1, 2, 3]), shape: [3] },
      b: { data: Float32Array.from([4, 5]), shape: [2] },
    });
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(String.fromCharCode(bytes[8 + n - 1]!)).toBe(" ");
    fc.assert(
      fc.property(
        fc.integer({ min: -n, max: 64 }).filter((d) => d !== 0),
        (delta) => {
          const b = Uint8Array.from(bytes);
          new DataView(b.buffer).setUint32(0, n + delta, true);
          const e = thrown(() => parseSafetensors(b, "off.safetensors"));
          expect(e._tag).toBe("WeightFileError");
          expect(e.message).toContain("off.safetensors");
        },
      ),
    );
    const short = Uint8Array.from(bytes);
    new DataView(short.buffer).setUint32(0, n - 1, true);
    const e = thrown(() => parseSafetensors(short, "short.safetensors"));
    expect(e.message).toContain("1 bytes past the last tensor");
    expect(e.message).toContain(`header length ${n - 1}`);
  });

  it("tiny-llama with its header length one byte short fails to load, naming the file", () => {
    const src = testdataPath("fixtures", "tiny-llama");
    const bytes = readFileSync(join(src, "model.safetensors"));
    const n = Number(bytes.readBigUInt64LE(0));
    for (const delta of [-1, 1]) {
      const dir = tempDir();
      copyFileSync(join(src, "config.json"), join(dir, "config.json"));
      const b = Buffer.from(bytes);
      b.writeBigUInt64LE(BigInt(n + delta), 0);
      writeFileSync(join(dir, "model.safetensors"), b);
      const e = thrown(() => loadModelSync(dir));
      expect(e._tag).toBe("WeightFileError");
      expect(e.message).toContain(join(dir, "model.safetensors"));
    }
  });

  it("a missing file is a WeightFileError naming it", () => {
    const e = thrown(() => readSafetensors("/nonexistent/x.safetensors"));
    expect(e._tag).toBe("WeightFileError");
    expect(e.message).toContain("/nonexistent/x.safetensors");
  });
});
