import { describe, expect, it } from "vitest";
import { redact, statusError } from "./http.ts";
import { hubSettings } from "./settings.ts";

const anonymous = hubSettings({});
const withToken = hubSettings({ HF_TOKEN: "hf_theSecret" });
const answer = (status: number, code?: string, message?: string) => ({
  status,
  headers: {
    ...(code === undefined ? {} : { "x-error-code": code }),
    ...(message === undefined ? {} : { "x-error-message": message }),
  },
});

describe("Hub status → HubError reason (X-Error-Code first, as huggingface_hub reads it)", () => {
  it.each([
    [401, "GatedRepo", "config.json", "gated"],
    [403, "GatedRepo", "config.json", "gated"],
    [401, "RepoNotFound", undefined, "unauthorized"],
    [401, undefined, "config.json", "unauthorized"],
    [404, "RepoNotFound", undefined, "repo-not-found"],
    [404, "RepoNotFound", "config.json", "repo-not-found"],
    [404, "RevisionNotFound", undefined, "revision-not-found"],
    [404, "EntryNotFound", "model.safetensors", "file-not-found"],
    [404, undefined, "model.safetensors", "file-not-found"],
    [404, undefined, undefined, "repo-not-found"],
    [403, undefined, undefined, "forbidden"],
    [500, undefined, "config.json", "protocol"],
  ] as const)("HTTP %i %s (file %s) → %s", (status, code, file, reason) => {
    const e = statusError("acme/tiny", file, answer(status, code), anonymous);
    expect(e).toMatchObject({ _tag: "HubError", repo: "acme/tiny", reason });
    expect(e.found).toContain(String(status));
  });

  it("401 says whether a token was sent; a token the server echoes is redacted", () => {
    expect(statusError("acme/tiny", undefined, answer(401), anonymous).expected).toContain("HF_TOKEN set");
    const e = statusError(
      "acme/tiny",
      undefined,
      answer(401, "RepoNotFound", "bad token hf_theSecret"),
      withToken,
    );
    expect(e.expected).toContain("HF_TOKEN was refused");
    expect(`${e.message}${JSON.stringify(e)}`).not.toContain("hf_theSecret");
    expect(redact("a hf_theSecret b hf_theSecret", withToken)).toBe("a *** b ***");
  });
});
