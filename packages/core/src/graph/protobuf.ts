/**
 * A minimal protocol-buffers writer: exactly what ONNX's ModelProto needs (varints, 32-bit
 * floats, length-delimited bytes and nested messages). Messages are built as lists of chunks and
 * joined once, so multi-gigabyte weight blobs are copied a single time.
 */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  private size = 0;

  get length(): number {
    return this.size + this.scratch.length;
  }

  private flush(): void {
    if (this.scratch.length === 0) return;
    const c = Uint8Array.from(this.scratch);
    this.chunks.push(c);
    this.size += c.length;
    this.scratch = [];
  }

  private varint(n: bigint | number): void {
    // Protobuf varint: 7 bits per byte, little-endian, high bit = "more". Negative int64s use
    // their two's complement (10 bytes).
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, n: number | bigint): this {
    this.tag(field, 0);
    this.varint(n);
    return this;
  }

  float(field: number, x: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.scratch.push(...b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.flush();
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }

  message(field: number, m: ProtoWriter): this {
    this.tag(field, 2);
    this.varint(m.length);
    m.flush();
    this.flush();
    this.chunks.push(...m.chunks);
    this.size += m.size;
    return this;
  }

  packedInts(field: number, ns: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const n of ns) inner.varint(n);
    inner.flush();
    return this.message(field, inner);
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
