import { Data, Effect } from "effect";
import {
  type ChatMessage,
  cleanExplanation,
  MAX_NORMALIZED_ACTIVATION,
  parseSimulationText,
} from "./prompts.ts";
import { ModelResponseError, type NeuronExplainer, type NeuronSimulator } from "./model.ts";
import type { HttpModelSpec } from "./spec.ts";
import { type ApiAccessError, checkAccess, type HttpAccess } from "./access.ts";

/**
 * An OpenAI-compatible chat/completions client (node's fetch) as explainer and simulator.
 *
 * POST {baseUrl}/chat/completions  {model, messages, max_tokens, temperature[, logprobs: true,
 * top_logprobs: 15]} → {choices: [{message: {content}, logprobs?: {content: [{token, logprob,
 * top_logprobs: [{token, logprob}]}]}}]}.
 *
 * Simulation: the model answers the prompt's lines as `token<TAB>value`. When the answer carries
 * logprobs, each value token (a token "0" … "10" right after a TAB) gives an expected value
 *   E = Σ_v v · exp(lp_v) / Σ_v exp(lp_v)  over the values among its top_logprobs
 * (the paper's compute_expected_value); otherwise, or when fewer values than tokens are found,
 * the numbers are parsed from the text. Errors are typed: ApiTimeoutError (no complete answer
 * within timeoutMs), ApiHttpError (network failure or a non-2xx status), ModelResponseError
 * (a body that is not the expected JSON, or too few activations), ApiAccessError (a host the
 * user has not allowed: see access.ts — the file names the endpoint, the user allows it and
 * gives the key).
 */

export class ApiTimeoutError extends Data.TaggedError("ApiTimeoutError")<{
  readonly url: string;
  readonly timeoutMs: number;
}> {
  override get message(): string {
    return `${this.url}: no complete response within ${this.timeoutMs} ms`;
  }
}

export class ApiHttpError extends Data.TaggedError("ApiHttpError")<{
  readonly url: string;
  /** The HTTP status, or null when no response arrived (network error). */
  readonly status: number | null;
  readonly detail: string;
}> {
  override get message(): string {
    return `${this.url}: ${this.status === null ? "request failed" : `HTTP ${this.status}`}: ${this.detail}`;
  }
}

export type ApiError = ApiTimeoutError | ApiHttpError | ModelResponseError | ApiAccessError;

export interface TopLogprob {
  readonly token: string;
  readonly logprob: number;
}
export interface TokenLogprob extends TopLogprob {
  readonly top_logprobs: readonly TopLogprob[];
}
export interface ChatAnswer {
  readonly content: string;
  /** Per generated token, when the server returned logprobs. */
  readonly logprobs: readonly TokenLogprob[] | null;
}

const urlOf = (spec: HttpModelSpec): string => `${spec.baseUrl.replace(/\/+$/, "")}/chat/completions`;

/**
 * One chat completion; every failure is one of the typed errors above.
 *
 * Returns a ChatAnswer `{ content, logprobs }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createServer } from "node:http";
 * import { Effect } from "effect";
 * import { chatCompletion } from "@patchbay/readouts";
 * const ANSWER = "hello";
 * const reply = JSON.stringify({ choices: [{ message: { content: ANSWER } }] });
 * const server = createServer((req, res) => req.resume().on("end", () => res.end(reply)));
 * await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
 * const { port } = server.address() as { port: number };
 * const spec = { baseUrl: `http://127.0.0.1:${port}/v1`, model: "local", timeoutMs: 5000, maxTokens: 64, temperature: 0, logprobs: false };
 * const access = { allowedHosts: [`127.0.0.1:${port}`] }; // the user allows this host
 * const a = await Effect.runPromise(chatCompletion(spec, [{ role: "user", content: "hi" }], { logprobs: false }, access));
 * const denied = await Effect.runPromiseExit(chatCompletion(spec, [], { logprobs: false }, { allowedHosts: [] }));
 * server.close();
 * assert.equal(a.content, "hello");
 * assert.equal(denied._tag, "Failure"); // a host the user has not allowed
 * ```
 */
export const chatCompletion = (
  spec: HttpModelSpec,
  messages: readonly ChatMessage[],
  opts: { readonly logprobs: boolean; readonly maxTokens?: number },
  access: HttpAccess,
): Effect.Effect<ChatAnswer, ApiError> => {
  const url = urlOf(spec);
  const denied = checkAccess(url, access);
  if (denied !== null) return Effect.fail(denied);
  const body = {
    model: spec.model,
    messages,
    max_tokens: opts.maxTokens ?? spec.maxTokens,
    temperature: spec.temperature,
    ...(opts.logprobs ? { logprobs: true, top_logprobs: 15 } : {}),
  };
  const key = access.apiKey;
  const fetched = Effect.tryPromise({
    try: async (interrupt) => {
      const ctl = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ctl.abort();
      }, spec.timeoutMs);
      interrupt.addEventListener("abort", () => ctl.abort());
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(key !== undefined && key !== "" ? { authorization: `Bearer ${key}` } : {}),
          },
          body: JSON.stringify(body),
          signal: ctl.signal,
        });
        const text = await res.text(); // inside the timeout: a stalled body times out too
        return { status: res.status, ok: res.ok, text };
      } catch (e) {
        throw timedOut ? TIMEOUT : e;
      } finally {
        clearTimeout(timer);
      }
    },
    catch: (e): ApiError =>
      e === TIMEOUT
        ? new ApiTimeoutError({ url, timeoutMs: spec.timeoutMs })
        : new ApiHttpError({ url, status: null, detail: e instanceof Error ? e.message : String(e) }),
  });
  return fetched.pipe(
    Effect.flatMap(
      (r): Effect.Effect<ChatAnswer, ApiError> =>
        r.ok
          ? parseAnswer(spec.model, r.text)
          : Effect.fail(new ApiHttpError({ url, status: r.status, detail: r.text.slice(0, 300) })),
    ),
  );
};

const TIMEOUT = Symbol("timeout");

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null;

/**
 * Validate a chat/completions body: choices[0].message.content, optional logprobs.content.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { parseAnswer } from "@patchbay/readouts";
 *
 * const ok = await Effect.runPromise(parseAnswer("m", JSON.stringify({ choices: [{ message: { content: "hi" } }] })));
 * assert.deepEqual(ok, { content: "hi", logprobs: null });
 * const bad = await Effect.runPromiseExit(parseAnswer("m", "{}"));
 * assert.equal(bad._tag, "Failure");
 * ```
 */
export const parseAnswer = (model: string, text: string): Effect.Effect<ChatAnswer, ModelResponseError> => {
  const bad = (field: string, expected: string, found: string) =>
    Effect.fail(new ModelResponseError({ model, field, expected, found: found.slice(0, 200) }));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return bad("body", "a JSON chat/completions response", JSON.stringify(text));
  }
  const choice = isObj(json) && Array.isArray(json.choices) ? (json.choices[0] as unknown) : undefined;
  if (!isObj(choice)) return bad("choices[0]", "an object", JSON.stringify(json));
  const content = isObj(choice.message) ? choice.message.content : undefined;
  if (typeof content !== "string")
    return bad("choices[0].message.content", "a string", JSON.stringify(choice.message));
  const lp = isObj(choice.logprobs) ? choice.logprobs.content : undefined;
  if (lp === undefined || lp === null) return Effect.succeed({ content, logprobs: null });
  const okTop = (t: unknown): t is TopLogprob =>
    isObj(t) && typeof t.token === "string" && typeof t.logprob === "number";
  const okToken = (t: unknown): boolean =>
    okTop(t) &&
    (!("top_logprobs" in t) ||
      t.top_logprobs === undefined ||
      (Array.isArray(t.top_logprobs) && t.top_logprobs.every(okTop)));
  if (!Array.isArray(lp) || !lp.every(okToken))
    return bad("choices[0].logprobs.content", "[{token, logprob, top_logprobs}]", JSON.stringify(lp));
  return Effect.succeed({
    content,
    logprobs: (lp as (TopLogprob & { top_logprobs?: TopLogprob[] })[]).map((t) => ({
      token: t.token,
      logprob: t.logprob,
      top_logprobs: t.top_logprobs ?? [],
    })),
  });
};

const VALID = new Set(Array.from({ length: MAX_NORMALIZED_ACTIVATION + 1 }, (_, v) => String(v)));

/**
 * Expected values from logprobs: each token whose text (without a leading TAB) is "0" … "10" and
 * that follows a TAB, in order. E = Σ v·p_v / Σ p_v over the valid values among top_logprobs (the
 * token itself with p = 1 when none are listed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectedFromLogprobs } from "@patchbay/readouts";
 *
 * const tab = { token: "\t", logprob: 0, top_logprobs: [] };
 * const value = { token: "4", logprob: Math.log(0.5), top_logprobs: [{ token: "4", logprob: Math.log(0.5) }, { token: "8", logprob: Math.log(0.5) }] };
 * assert.deepEqual(expectedFromLogprobs([tab, value]), [6]);
 * ```
 */
export const expectedFromLogprobs = (tokens: readonly TokenLogprob[]): number[] => {
  const out: number[] = [];
  let before = "";
  for (const t of tokens) {
    const afterTab = before.endsWith("\t") || t.token.startsWith("\t");
    const bare = t.token.replace(/^\t/, "").trim();
    if (afterTab && VALID.has(bare)) {
      let num = 0;
      let den = 0;
      const seen = new Set<string>();
      for (const c of t.top_logprobs) {
        const v = c.token.replace(/^\t/, "").trim();
        if (!VALID.has(v) || seen.has(v)) continue;
        seen.add(v);
        const p = Math.exp(c.logprob);
        num += Number(v) * p;
        den += p;
      }
      out.push(den > 0 && Number.isFinite(num / den) ? num / den : Number(bare));
    }
    before += t.token;
  }
  return out;
};

/**
 * A simulator behind an OpenAI-compatible chat/completions endpoint: expected values from logprobs when the server returns them, else the numbers in the answer. A NeuronSimulator `{ name, simulate }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createServer } from "node:http";
 * import { Effect } from "effect";
 * import { httpSimulator, simulateRequest } from "@patchbay/readouts";
 * const ANSWER = "<start>\na\t0\nx\t10\n<end>";
 * const reply = JSON.stringify({ choices: [{ message: { content: ANSWER } }] });
 * const server = createServer((req, res) => req.resume().on("end", () => res.end(reply)));
 * await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
 * const { port } = server.address() as { port: number };
 * const spec = { baseUrl: `http://127.0.0.1:${port}/v1`, model: "local", timeoutMs: 5000, maxTokens: 64, temperature: 0, logprobs: false };
 * const access = { allowedHosts: [`127.0.0.1:${port}`] }; // the user allows this host
 * const sim = await Effect.runPromise(httpSimulator(spec, access).simulate(simulateRequest('the token "x"', [["a", "x"]])));
 * server.close();
 * assert.deepEqual(sim.expected, [[0, 10]]);
 * ```
 */
export const httpSimulator = (spec: HttpModelSpec, access: HttpAccess): NeuronSimulator<ApiError> => ({
  name: `http:${spec.model}`,
  simulate: (req) =>
    Effect.forEach(
      req.prompts,
      (p, i) =>
        chatCompletion(spec, p.messages, { logprobs: spec.logprobs }, access).pipe(
          Effect.flatMap((a) => {
            const n = req.sequences[i]!.length;
            const fromLp = a.logprobs === null ? [] : expectedFromLogprobs(a.logprobs);
            if (fromLp.length >= n)
              return Effect.succeed({ values: fromLp.slice(fromLp.length - n), lp: true });
            const parsed = parseSimulationText(a.content, n);
            return parsed === null
              ? Effect.fail(
                  new ModelResponseError({
                    model: spec.model,
                    field: `simulation of sequence ${i}`,
                    expected: `${n} lines token<TAB>activation`,
                    found: JSON.stringify(a.content.slice(0, 200)),
                  }),
                )
              : Effect.succeed({ values: parsed, lp: false });
          }),
        ),
      { concurrency: 4 },
    ).pipe(
      Effect.map((rs) => ({
        expected: rs.map((r) => r.values),
        method: rs.every((r) => r.lp) ? ("probabilities" as const) : ("text" as const),
      })),
    ),
});

/**
 * An explainer behind an OpenAI-compatible chat/completions endpoint (only hosts the user allows). A NeuronExplainer `{ name, explain }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createServer } from "node:http";
 * import { Effect } from "effect";
 * import { explainRequest, httpExplainer } from "@patchbay/readouts";
 * const ANSWER = ' the token "x".';
 * const reply = JSON.stringify({ choices: [{ message: { content: ANSWER } }] });
 * const server = createServer((req, res) => req.resume().on("end", () => res.end(reply)));
 * await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
 * const { port } = server.address() as { port: number };
 * const spec = { baseUrl: `http://127.0.0.1:${port}/v1`, model: "local", timeoutMs: 5000, maxTokens: 64, temperature: 0, logprobs: false };
 * const access = { allowedHosts: [`127.0.0.1:${port}`] }; // the user allows this host
 * const req = explainRequest([{ tokens: ["a", "x"], activations: [0, 8] }], 8);
 * const explanation = await Effect.runPromise(httpExplainer(spec, access).explain(req));
 * server.close();
 * assert.equal(explanation, 'the token "x"');
 * ```
 */
export const httpExplainer = (spec: HttpModelSpec, access: HttpAccess): NeuronExplainer<ApiError> => ({
  name: `http:${spec.model}`,
  explain: (req) =>
    chatCompletion(spec, req.prompt.messages, { logprobs: false, maxTokens: 60 }, access).pipe(
      Effect.map((a) => cleanExplanation(a.content)),
    ),
});
