import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Effect, Schema } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiHttpError, ApiTimeoutError, chatCompletion, httpExplainer, httpSimulator } from "./http.ts";
import { explainRequest, ModelResponseError, simulateRequest } from "./model.ts";
import { HttpModelSpec } from "./spec.ts";
import { ApiAccessError, type HttpAccess, httpAccessFromEnv, noHttpAccess } from "./access.ts";

/**
 * A local stand-in for an OpenAI-compatible server (node:http, inside the test), answering by
 * rule from the request's model name:
 *   "sim-lp"     the simulation lines, value 10 for tokens quoted in the explanation else 0, with
 *                logprobs (the value token: logprob ln 0.75, the other candidate ln 0.25)
 *   "sim-text"   the same lines without logprobs
 *   "explain"    "the main thing this neuron does is find cats."
 *   "slow"       answers after 2 s;  "garbage" a non-JSON body;  "shape" JSON without choices;
 *   "fail"       HTTP 500
 */
let server: Server;
let base = "";
const seen: unknown[] = [];
const authorizations: (string | undefined)[] = [];
/** the user allows the stand-in's host (the test is the user here) */
const local: HttpAccess = { allowedHosts: ["127.0.0.1"] };

const simLines = (user: string): { line: string; value: number }[] => {
  const explanation = /behavior: [^\n]*/.exec(user)?.[0] ?? "";
  const quoted = new Set([...explanation.matchAll(/"([^"]*)"/g)].map((m) => m[1]!));
  const body = user.slice(user.indexOf("<start>\n") + 8, user.indexOf("\n<end>"));
  return body.split("\n").map((l) => {
    const tok = l.slice(0, l.lastIndexOf("\t"));
    return { line: tok, value: quoted.has(tok) ? 10 : 0 };
  });
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const body = JSON.parse(raw) as { model: string; messages: { content: string }[]; logprobs?: boolean };
      seen.push(body);
      authorizations.push(req.headers.authorization);
      const send = (x: unknown) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(x));
      };
      const user = body.messages[body.messages.length - 1]!.content;
      switch (body.model) {
        case "sim-lp":
        case "sim-text": {
          const lines = simLines(user);
          const content = lines.map((l) => `${l.line}\t${l.value}`).join("\n");
          const logprobs =
            body.model === "sim-lp" && body.logprobs === true
              ? {
                  content: lines.flatMap((l) => [
                    { token: l.line, logprob: 0, top_logprobs: [] },
                    { token: "\t", logprob: 0, top_logprobs: [] },
                    {
                      token: String(l.value),
                      logprob: Math.log(0.75),
                      top_logprobs: [
                        { token: String(l.value), logprob: Math.log(0.75) },
                        { token: l.value === 10 ? "8" : "2", logprob: Math.log(0.25) },
                        { token: "unknown", logprob: Math.log(0.01) },
                      ],
                    },
                    { token: "\n", logprob: 0, top_logprobs: [] },
                  ]),
                }
              : null;
          return send({ choices: [{ message: { role: "assistant", content }, logprobs }] });
        }
        case "explain":
          return send({
            choices: [{ message: { content: " the main thing this neuron does is find cats." } }],
          });
        case "slow":
          setTimeout(() => send({ choices: [{ message: { content: "late" } }] }), 2000);
          return;
        case "garbage":
          res.writeHead(200, { "content-type": "application/json" });
          return res.end("{not json");
        case "shape":
          return send({ result: "no choices here" });
        default:
          res.writeHead(500);
          return res.end("boom");
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
});

const spec = (model: string, extra: object = {}) =>
  Schema.decodeUnknownSync(HttpModelSpec)({ baseUrl: base, model, ...extra });
const seqs = [
  ["the", "cat", "sat"],
  ["a", "cat"],
];

describe("HTTP client (OpenAI-compatible chat/completions, local stand-in server)", () => {
  it("simulates from logprobs: E = Σ v p_v / Σ p_v over the values among top_logprobs", async () => {
    const sim = await Effect.runPromise(
      httpSimulator(spec("sim-lp"), local).simulate(simulateRequest('the tokens "cat"', seqs)),
    );
    expect(sim.method).toBe("probabilities");
    // cat: 0.75·10 + 0.25·8 = 9.5; others: 0.75·0 + 0.25·2 = 0.5 ("unknown" is not a value)
    expect(sim.expected).toEqual([
      [0.5, 9.5, 0.5],
      [0.5, 9.5],
    ]);
    const last = seen[seen.length - 1] as { top_logprobs: number; messages: unknown[] };
    expect(last.top_logprobs).toBe(15);
    expect(last.messages.length).toBe(2);
  });

  it("falls back to parsing the numbers when no logprobs come back", async () => {
    const sim = await Effect.runPromise(
      httpSimulator(spec("sim-text"), local).simulate(simulateRequest('the tokens "cat"', seqs)),
    );
    expect(sim.method).toBe("text");
    expect(sim.expected).toEqual([
      [0, 10, 0],
      [0, 10],
    ]);
  });

  it("explains: the completion without the prefix and the final period", async () => {
    const e = await Effect.runPromise(
      httpExplainer(spec("explain"), local).explain(
        explainRequest([{ tokens: ["cat"], activations: [1] }], 1),
      ),
    );
    expect(e).toBe("cats");
  });

  it("typed errors: timeout, malformed body, wrong shape, HTTP status, unreachable server", async () => {
    const err = (model: string, extra: object = {}) =>
      Effect.runPromise(
        Effect.flip(
          chatCompletion(spec(model, extra), [{ role: "user", content: "hi" }], { logprobs: false }, local),
        ),
      );
    const t0 = Date.now();
    const t = await err("slow", { timeoutMs: 200 });
    expect(t).toBeInstanceOf(ApiTimeoutError);
    expect(Date.now() - t0).toBeLessThan(1500);
    const g = await err("garbage");
    expect(g).toBeInstanceOf(ModelResponseError);
    expect((g as ModelResponseError).field).toBe("body");
    const s = await err("shape");
    expect((s as ModelResponseError).field).toBe("choices[0]");
    const h = await err("fail");
    expect(h).toBeInstanceOf(ApiHttpError);
    expect((h as ApiHttpError).status).toBe(500);
    const down = await Effect.runPromise(
      Effect.flip(
        chatCompletion(
          Schema.decodeUnknownSync(HttpModelSpec)({
            baseUrl: "http://127.0.0.1:9/v1",
            model: "x",
            timeoutMs: 2000,
          }),
          [{ role: "user", content: "hi" }],
          { logprobs: false },
          local,
        ),
      ),
    );
    expect(down).toBeInstanceOf(ApiHttpError);
    expect((down as ApiHttpError).status).toBeNull();
  });

  it("too few activations in an answer is a ModelResponseError", async () => {
    const e = await Effect.runPromise(
      Effect.flip(httpSimulator(spec("explain"), local).simulate(simulateRequest("x", [["a", "b"]]))),
    );
    expect(e).toBeInstanceOf(ModelResponseError);
    expect((e as ModelResponseError).field).toBe("simulation of sequence 0");
  });
});

describe("HTTP access: hosts and the key are the user's, never the file's", () => {
  const hi = [{ role: "user" as const, content: "hi" }];
  it("a spec cannot name the key's variable (unknown field), and no host is allowed by default", async () => {
    expect(() =>
      Schema.decodeUnknownSync(HttpModelSpec)(
        { baseUrl: base, model: "x", apiKeyEnv: "HOME" },
        { onExcessProperty: "error" },
      ),
    ).toThrow(/apiKeyEnv/);
    const before = seen.length;
    const e = await Effect.runPromise(
      Effect.flip(chatCompletion(spec("explain"), hi, { logprobs: false }, noHttpAccess)),
    );
    expect(e).toBeInstanceOf(ApiAccessError);
    expect((e as ApiAccessError).host).toBe(new URL(base).host);
    expect(e.message).toContain("--http-allow-hosts");
    expect(seen.length).toBe(before); // nothing was sent
  });

  it("another host, a userinfo trick or a non-http scheme is refused before any request", async () => {
    const before = seen.length;
    for (const baseUrl of [
      base.replace("127.0.0.1", "localhost"),
      `http://127.0.0.1@evil.example:${new URL(base).port}/v1`,
      "file:///etc/passwd",
      "not a url",
    ]) {
      const s = Schema.decodeUnknownSync(HttpModelSpec)({ baseUrl, model: "explain" });
      const e = await Effect.runPromise(Effect.flip(chatCompletion(s, hi, { logprobs: false }, local)));
      expect(e, baseUrl).toBeInstanceOf(ApiAccessError);
    }
    expect(seen.length).toBe(before);
  });

  it("the key comes from the variable the user names, and is sent only to allowed hosts", async () => {
    const env = {
      PATCHBAY_HTTP_ALLOW_HOSTS: " 127.0.0.1 , api.example.com",
      PATCHBAY_HTTP_API_KEY_ENV: "MY_KEY",
      MY_KEY: "sk-test",
      OTHER_SECRET: "never",
    };
    const access = httpAccessFromEnv(env);
    expect(access).toEqual({ allowedHosts: ["127.0.0.1", "api.example.com"], apiKey: "sk-test" });
    await Effect.runPromise(chatCompletion(spec("explain"), hi, { logprobs: false }, access));
    expect(authorizations.at(-1)).toBe("Bearer sk-test");
    await Effect.runPromise(chatCompletion(spec("explain"), hi, { logprobs: false }, local));
    expect(authorizations.at(-1)).toBeUndefined();
    expect(httpAccessFromEnv({})).toEqual({ allowedHosts: [] });
  });
});
