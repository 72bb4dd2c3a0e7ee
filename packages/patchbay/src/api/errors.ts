import { Data } from "effect";

/**
 * A model handle used after `close()` (or after `await using` left its block): its ORT sessions
 * are released, so nothing can run on it. Open the model again.
 */
export class ModelClosedError extends Data.TaggedError("ModelClosedError")<{
  /** The model's path (or name, for a model opened from memory). */
  readonly model: string;
  /** What was asked of it, e.g. "run". */
  readonly operation: string;
}> {
  override get message(): string {
    return `${this.model}: ${this.operation} after close(): expected an open model (open it again), found a closed one`;
  }
}
