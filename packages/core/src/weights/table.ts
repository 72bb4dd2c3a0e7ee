import { TensorShapeError } from "../errors/errors.ts";
import type { ModelConfig } from "../model/config.ts";
import { type HostTensor, sameShape, shapeString } from "../tensor/host-tensor.ts";

/** One tensor as a weight file declares it (before decoding). */
export interface TensorEntry {
  readonly name: string;
  /** The file's dtype spelling, e.g. "F32", "BF16", "Q4_K". */
  readonly dtype: string;
  /** Row-major shape (GGUF's innermost-first dims already reversed). */
  readonly shape: readonly number[];
  /** The file holding it (a shard, for sharded checkpoints). */
  readonly file: string;
}

/**
 * The tensors of a checkpoint, read lazily: family mappers look names up, then decode only what
 * they use (so a buffer in an unsupported dtype that nobody needs is never an error).
 */
export interface TensorTable {
  /** The file to name when a tensor is absent (the weight file, or the shard index). */
  readonly file: string;
  names(): string[];
  entry(name: string): TensorEntry | undefined;
  /** Decode to float32; UnsupportedError for dtypes we do not decode. */
  read(name: string): HostTensor;
}

/** Where a canonical tensor came from, so late validation errors name the file's own tensor. */
export interface Origin {
  readonly file: string;
  readonly tensor: string;
}

/** Canonical weights being assembled, with provenance. */
export class WeightSink {
  readonly weights = new Map<string, HostTensor>();
  readonly origin = new Map<string, Origin>();
  set(canonical: string, t: HostTensor, from: Origin): void {
    this.weights.set(canonical, t);
    this.origin.set(canonical, from);
  }
}

export const originOf = (t: TensorTable, name: string): Origin => ({
  file: t.entry(name)?.file ?? t.file,
  tensor: name,
});

/**
 * A tensor the architecture needs, with the shape the config implies. Absent → TensorShapeError
 * naming the file and the file's tensor name; wrong shape → expected vs found.
 */
export const take = (t: TensorTable, name: string, shape: readonly number[]): HostTensor => {
  const e = t.entry(name);
  if (e === undefined) {
    throw new TensorShapeError({
      file: t.file,
      tensor: name,
      expected: `a tensor of shape ${shapeString(shape)}`,
      found: "no such tensor",
    });
  }
  const x = t.read(name);
  if (!sameShape(x.shape, shape)) {
    throw new TensorShapeError({
      file: e.file,
      tensor: name,
      expected: `shape ${shapeString(shape)} (from the config)`,
      found: shapeString(x.shape),
    });
  }
  return x;
};

/** Like `take`, but an absent tensor is fine (optional biases). */
export const takeOptional = (t: TensorTable, name: string, shape: readonly number[]): HostTensor | null =>
  t.entry(name) === undefined ? null : take(t, name, shape);

/** A checkpoint mapped onto the canonical form, before validation against weightSpecs. */
export interface Mapped {
  readonly config: ModelConfig;
  readonly sink: WeightSink;
  /** The file to name when a canonical tensor is missing and has no origin. */
  readonly file: string;
}

/** A family mapper's working state: the file's table and the canonical weights being filled. */
export class Mapper {
  readonly sink = new WeightSink();
  private readonly used = new Set<string>();
  constructor(readonly t: TensorTable) {}
  has(name: string): boolean {
    return this.t.entry(name) !== undefined;
  }
  take(name: string, shape: readonly number[]): HostTensor {
    this.used.add(name);
    return take(this.t, name, shape);
  }
  takeOptional(name: string, shape: readonly number[]): HostTensor | null {
    return this.has(name) ? this.take(name, shape) : null;
  }
  /** Store a canonical tensor derived from the file's tensor `name`. */
  put(canonical: string, name: string, x: HostTensor): void {
    this.sink.set(canonical, x, originOf(this.t, name));
  }
  /** A tensor whose file layout is already canonical. */
  copy(canonical: string, name: string, shape: readonly number[]): HostTensor {
    const x = this.take(name, shape);
    this.put(canonical, name, x);
    return x;
  }
  copyOptional(canonical: string, name: string, shape: readonly number[]): void {
    const x = this.takeOptional(name, shape);
    if (x !== null) this.put(canonical, name, x);
  }
  /**
   * Finish: every tensor of the file must have been used or be a known buffer (`ignore`). A
   * leftover tensor means the file and the config disagree (e.g. n_layer smaller than the file's
   * layer count), so it is a TensorShapeError rather than silently dropped.
   */
  done(config: ModelConfig, ignore: (name: string) => boolean = () => false): Mapped {
    for (const name of this.t.names()) {
      if (this.used.has(name) || ignore(name)) continue;
      throw new TensorShapeError({
        file: this.t.entry(name)?.file ?? this.t.file,
        tensor: name,
        expected: `no such tensor for this config (${config.nLayers} layers; not a weight of this architecture)`,
        found: `a tensor of shape ${shapeString(this.t.entry(name)?.shape ?? [])}`,
      });
    }
    return { config, sink: this.sink, file: this.t.file };
  }
}
