/** Values of a table row read from a cell result (specs are stored as plain JSON). */

export const num = (x: number | null | undefined): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : x;

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** The value at a dotted path of a cell spec (specs are stored as plain JSON). */
export const specValue = (spec: unknown, path: string): unknown => {
  let v: unknown = spec;
  for (const k of path.split(".")) v = isRecord(v) ? v[k] : undefined;
  return v;
};
export const specText = (spec: unknown, path: string): string | null => {
  const v = specValue(spec, path);
  return typeof v === "string" ? v : null;
};
export const specInt = (spec: unknown, path: string): number | null => {
  const v = specValue(spec, path);
  return typeof v === "number" && Number.isInteger(v) ? v : null;
};
