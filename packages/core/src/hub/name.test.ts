import { join, resolve, sep } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkEtag, checkRepoFile, normalizeEtag, parseHubPath } from "./name.ts";

const BASE = resolve("/cache/models--a--b/snapshots/c");
const accepts = (f: () => unknown): boolean => {
  try {
    f();
    return true;
  } catch (e) {
    expect(e).toMatchObject({ _tag: "HubError", reason: "unsafe-name" });
    return false;
  }
};

describe("untrusted names", () => {
  it("a file path a server sends is accepted only when it stays inside the snapshot folder", () => {
    const segment = fc.oneof(
      fc.constantFrom("..", ".", "", "a", "model.safetensors", "sub", "x/..", "/", "\\", "C:", "%2e%2e", "~"),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.boolean(), (parts, absolute) => {
        const file = (absolute ? "/" : "") + parts.join("/");
        if (accepts(() => checkRepoFile("a/b", file))) {
          expect(resolve(BASE, file).startsWith(BASE + sep)).toBe(true);
          expect(file).not.toMatch(/(^|\/)\.\.?(\/|$)|\\|^\//);
        }
      }),
    );
    expect(accepts(() => checkRepoFile("a/b", "onnx/model.safetensors"))).toBe(true);
    for (const bad of ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "a//b", "a/./b", "x\u0000y"])
      expect(
        accepts(() => checkRepoFile("a/b", bad)),
        bad,
      ).toBe(false);
  });

  it("an etag becomes a blob name only when it is a plain token; W/ and quotes are stripped first", () => {
    expect(normalizeEtag('W/"abc123"')).toBe("abc123");
    expect(normalizeEtag('"deadbeef"')).toBe("deadbeef");
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (etag) => {
        if (accepts(() => checkEtag("a/b", "f", etag))) expect(join("/blobs", etag)).toBe(`/blobs/${etag}`);
      }),
    );
    for (const bad of ["..", "../x", "a/b", "", "a b"])
      expect(
        accepts(() => checkEtag("a/b", "f", bad)),
        bad,
      ).toBe(false);
  });

  it("hf: paths: owner/name and an optional revision; anything else is unsafe", () => {
    expect(parseHubPath("hf:meta-llama/Llama-3.1-8B@refs/pr/1")).toEqual({
      repo: "meta-llama/Llama-3.1-8B",
      revision: "refs/pr/1",
    });
    for (const bad of [
      "hf:gpt2",
      "hf:a/b/c",
      "hf:a--b/c",
      "hf:a/b@",
      "hf:a/b@../main",
      "hf:/a/b",
      "hf:a/.b",
      "hf:a/b@x y",
    ])
      expect(
        accepts(() => parseHubPath(bad)),
        bad,
      ).toBe(false);
  });
});
