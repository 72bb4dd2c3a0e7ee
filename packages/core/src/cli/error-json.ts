/**
 * A failure of a `--json` command as one JSON object on stderr, with a stable shape:
 * `{"error": {"tag", "message", "file"?, "field"?}}`. The error classes name where the problem is
 * under their own field names; this maps them: file ← `file` (with `:line` when the error has a
 * line) or `path`; field ← `field`, `site` or `tensor`.
 */
export interface ErrorJson {
  readonly error: {
    readonly tag: string;
    readonly message: string;
    readonly file?: string;
    readonly field?: string;
  };
}

const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export const errorJson = (e: { readonly _tag: string; readonly message: string }): ErrorJson => {
  const r = e as unknown as Record<string, unknown>;
  const at = text(r.file) ?? text(r.path);
  const file = at !== undefined && typeof r.line === "number" ? `${at}:${r.line}` : at;
  const field = text(r.field) ?? text(r.site) ?? text(r.tensor);
  return {
    error: {
      tag: e._tag,
      message: e.message,
      ...(file !== undefined ? { file } : {}),
      ...(field !== undefined ? { field } : {}),
    },
  };
};

/** A command line that does not parse, in the same shape (tag UsageError). */
export const usageJson = (message: string): ErrorJson => errorJson({ _tag: "UsageError", message });

export const printErrorJson = (j: ErrorJson): void => console.error(JSON.stringify(j));
