import { describe, expect, it } from "vitest";
import { ttyProgress } from "./progress.ts";

const stream = (isTTY: boolean) => {
  const written: string[] = [];
  return { written, s: { isTTY, write: (t: string) => written.push(t) } as unknown as NodeJS.WriteStream };
};

describe("ttyProgress", () => {
  it("draws on a terminal, ending the line when the file is complete", () => {
    const { written, s } = stream(true);
    const bar = ttyProgress(s)!;
    bar("model.safetensors", 2_000_000, 4_000_000);
    bar("model.safetensors", 4_000_000, 4_000_000);
    expect(written[0]).toMatch(/^\rmodel\.safetensors \[#{12}\.{12}\] 2\.0\/4\.0 MB$/);
    expect(written.at(-1)).toMatch(/\[#{24}\] 4\.0\/4\.0 MB\n$/);
  });

  it("is nothing on a pipe or a file", () => {
    expect(ttyProgress(stream(false).s)).toBeUndefined();
  });
});
