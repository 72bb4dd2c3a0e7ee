/** A GGUF writer for the weights tests (enough for them: scalars, strings, arrays; offsets overridable). */

export type GgufKv =
  | { key: string; type: "u32"; value: number }
  | { key: string; type: "f32"; value: number }
  | { key: string; type: "string"; value: string }
  | { key: string; type: "strings"; value: string[] }
  | { key: string; type: "f32s"; value: number[] };

export interface GgufTensorSpec {
  readonly name: string;
  /** innermost first */
  readonly ne: number[];
  readonly type: number;
  readonly bytes: Uint8Array;
  /** Data offset to write (default: after the previous tensor, aligned); data is placed only where it fits. */
  readonly offset?: number;
}

export const makeGguf = (kvs: GgufKv[], tensors: GgufTensorSpec[], alignment = 32): Uint8Array => {
  const parts: number[] = [];
  const u8 = (...b: number[]) => parts.push(...b);
  const u32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    u8(...b);
  };
  const u64 = (v: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    u8(...b);
  };
  const f32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    u8(...b);
  };
  const str = (s: string) => {
    const b = new TextEncoder().encode(s);
    u64(b.length);
    u8(...b);
  };
  u8(..."GGUF".split("").map((c) => c.charCodeAt(0)));
  u32(3);
  u64(tensors.length);
  u64(kvs.length);
  for (const kv of kvs) {
    str(kv.key);
    switch (kv.type) {
      case "u32":
        u32(4);
        u32(kv.value);
        break;
      case "f32":
        u32(6);
        f32(kv.value);
        break;
      case "string":
        u32(8);
        str(kv.value);
        break;
      case "strings":
        u32(9);
        u32(8);
        u64(kv.value.length);
        kv.value.forEach(str);
        break;
      case "f32s":
        u32(9);
        u32(6);
        u64(kv.value.length);
        kv.value.forEach(f32);
        break;
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    offsets.push(t.offset ?? offset);
    offset += Math.ceil(t.bytes.length / alignment) * alignment;
  }
  tensors.forEach((t, i) => {
    str(t.name);
    u32(t.ne.length);
    t.ne.forEach(u64);
    u32(t.type);
    u64(offsets[i]!);
  });
  const dataStart = Math.ceil(parts.length / alignment) * alignment;
  const out = new Uint8Array(dataStart + offset);
  out.set(parts);
  tensors.forEach((t, i) => {
    if (dataStart + offsets[i]! + t.bytes.length <= out.length) out.set(t.bytes, dataStart + offsets[i]!);
  });
  return out;
};
