/**
 * A client for OpenAI-compatible chat completions (`POST {base_url}/chat/completions`), as
 * served by OpenAI, vLLM, llama.cpp, Ollama and LiteLLM: streaming (server-sent events) or not,
 * tool calls, token usage, and bounded retries on 429/5xx/connection failures that honour
 * Retry-After. Every way the endpoint can fail ends as an error that says which.
 */
import { createParser } from "eventsource-parser";
import type { LlmSettings } from "../config/schema.ts";
import { formatDuration, parseDurationMs } from "../util/duration.ts";
import { RuntimeError, errorMessage } from "../util/errors.ts";
import { permanent } from "./failure.ts";
import { abortableSleep } from "../util/abortable-sleep.ts";

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ToolDeclaration {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export type ChatMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: ToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolDeclaration[];
  temperature?: number;
  max_tokens?: number;
  stream: boolean;
  /** Called with each piece of text as it streams in. */
  onText?: (text: string) => void;
}

export interface ChatReply {
  content: string;
  tool_calls: ToolCall[];
  finish_reason: string | null;
  model: string;
  usage: Usage | null;
}

/** The endpoint answered, but not with a chat completion. Not retried: it would answer the same. */
export class MalformedReplyError extends RuntimeError {
  constructor(detail: string) {
    super(`the LLM endpoint sent a malformed reply: ${detail}`, "check llm.base_url points at an OpenAI-compatible API (…/v1)");
    permanent(this);
  }
}

const RETRYABLE_STATUS = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;
const BASE_BACKOFF_MS = 500;

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Math.round(Number(header) * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

function errorDetail(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
    const message = typeof parsed.error === "string" ? parsed.error : (parsed.error?.message ?? parsed.message);
    if (message) return snippet(message);
  } catch {
    // not JSON: show the text
  }
  return snippet(body);
}

function readUsage(value: unknown): Usage | null {
  const usage = value as Partial<Usage> | undefined;
  if (!usage || typeof usage.prompt_tokens !== "number" || typeof usage.completion_tokens !== "number") return null;
  return { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens };
}

export class ChatClient {
  private readonly url: string;
  private readonly apiKey: string | undefined;
  private readonly requestTimeoutMs: number;
  private readonly maxRetryWaitMs: number;

  constructor(
    private readonly settings: LlmSettings,
    private readonly signal: AbortSignal,
    /** Where retries are reported (the job log). */
    private readonly note: (line: string) => Promise<void>,
    env: Record<string, string | undefined> = process.env,
  ) {
    this.url = `${settings.base_url.replace(/\/$/, "")}/chat/completions`;
    this.apiKey = settings.api_key_env ? env[settings.api_key_env] || undefined : undefined;
    this.requestTimeoutMs = parseDurationMs(settings.request_timeout)!;
    this.maxRetryWaitMs = parseDurationMs(settings.max_retry_wait)!;
  }

  async complete(request: ChatRequest): Promise<ChatReply> {
    const attempts = this.settings.max_retries + 1;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(request);
      if (!("retry" in outcome)) return outcome;
      const waitMs = outcome.retryAfterMs ?? BASE_BACKOFF_MS * 2 ** (attempt - 1);
      if (attempt >= attempts) throw new RuntimeError(`${outcome.retry} (gave up after ${attempts} attempt${attempts === 1 ? "" : "s"})`);
      if (waitMs > this.maxRetryWaitMs) {
        throw new RuntimeError(`${outcome.retry}; it asks to retry after ${formatDuration(waitMs)}, longer than llm.max_retry_wait (${this.settings.max_retry_wait})`);
      }
      await this.note(`${outcome.retry}; retrying in ${formatDuration(waitMs)} (attempt ${attempt + 1} of ${attempts})`);
      await abortableSleep(waitMs, this.signal);
    }
  }

  private async attempt(request: ChatRequest): Promise<ChatReply | { retry: string; retryAfterMs?: number }> {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const signal = AbortSignal.any([this.signal, timeout]);
    const body = {
      model: request.model,
      messages: request.messages,
      ...(request.tools && request.tools.length > 0 ? { tools: request.tools } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.max_tokens !== undefined ? { max_tokens: request.max_tokens } : {}),
      stream: request.stream,
      ...(request.stream ? { stream_options: { include_usage: true } } : {}),
    };
    try {
      let response: Response;
      try {
        response = await fetch(this.url, {
          method: "POST",
          signal,
          headers: { "Content-Type": "application/json", Accept: request.stream ? "text/event-stream" : "application/json", ...(this.apiKey ? { Authorization: `Bearer ${this.apiKey}` } : {}) },
          body: JSON.stringify(body),
        });
      } catch (error) {
        if (signal.aborted) throw error;
        return { retry: `the LLM endpoint ${this.settings.base_url} is unreachable (${errorMessage(error)})` };
      }
      if (!response.ok) {
        const text = await response.text().catch(() => "");
        const what = `the LLM endpoint answered ${response.status}${text ? `: ${errorDetail(text)}` : ""}`;
        if (RETRYABLE_STATUS(response.status)) return { retry: what, retryAfterMs: retryAfterMs(response.headers.get("retry-after")) };
        throw permanent(new RuntimeError(what, response.status === 401 || response.status === 403 ? `set the API key in the variable llm.api_key_env names${this.settings.api_key_env ? ` (${this.settings.api_key_env})` : ""}` : undefined));
      }
      const type = response.headers.get("content-type") ?? "";
      // Some servers ignore stream: true and answer with one JSON document.
      if (type.includes("text/event-stream")) return await this.readStream(response, request);
      return this.readWhole(await response.text(), request);
    } catch (error) {
      if (this.signal.aborted) throw this.signal.reason;
      if (timeout.aborted) throw new RuntimeError(`the LLM request took longer than llm.request_timeout (${this.settings.request_timeout})`);
      throw error;
    }
  }

  private readWhole(text: string, request: ChatRequest): ChatReply {
    let parsed: { choices?: Array<{ message?: { content?: string | null; tool_calls?: ToolCall[] }; finish_reason?: string | null }>; model?: string; usage?: unknown };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new MalformedReplyError(`not JSON: ${snippet(text) || "(empty)"}`);
    }
    const choice = parsed?.choices?.[0];
    if (!choice?.message || typeof choice.message !== "object") throw new MalformedReplyError(`no choices[0].message in ${snippet(text)}`);
    const content = choice.message.content ?? "";
    if (typeof content !== "string") throw new MalformedReplyError("choices[0].message.content is not text");
    if (content) request.onText?.(content);
    return { content, tool_calls: this.checkToolCalls(choice.message.tool_calls ?? []), finish_reason: choice.finish_reason ?? null, model: parsed.model ?? request.model, usage: readUsage(parsed.usage) };
  }

  private async readStream(response: Response, request: ChatRequest): Promise<ChatReply> {
    let content = "";
    let model = request.model;
    let usage: Usage | null = null;
    let finishReason: string | null = null;
    let done = false;
    let chunks = 0;
    let malformed: string | undefined;
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    const parser = createParser({
      onEvent: (event) => {
        if (malformed || done) return;
        if (event.data.trim() === "[DONE]") {
          done = true;
          return;
        }
        let chunk: { model?: string; usage?: unknown; choices?: Array<{ delta?: { content?: string | null; tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }> }; finish_reason?: string | null }> };
        try {
          chunk = JSON.parse(event.data);
        } catch {
          malformed = `a stream event is not JSON: ${snippet(event.data)}`;
          return;
        }
        chunks++;
        if (chunk.model) model = chunk.model;
        usage = readUsage(chunk.usage) ?? usage;
        const choice = chunk.choices?.[0];
        if (!choice) return; // the usage-only chunk at the end
        if (typeof choice.delta?.content === "string" && choice.delta.content) {
          content += choice.delta.content;
          request.onText?.(choice.delta.content);
        }
        for (const delta of choice.delta?.tool_calls ?? []) {
          const index = delta.index ?? calls.length;
          calls[index] ??= { id: "", name: "", arguments: "" };
          if (delta.id) calls[index].id = delta.id;
          if (delta.function?.name) calls[index].name += delta.function.name;
          if (delta.function?.arguments) calls[index].arguments += delta.function.arguments;
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      },
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done: ended, value } = await reader.read();
      if (ended) break;
      parser.feed(value);
      if (malformed) {
        await reader.cancel();
        throw new MalformedReplyError(malformed);
      }
    }
    if (chunks === 0) throw new MalformedReplyError("the event stream ended without a single completion chunk");
    if (!done && finishReason === null) throw new RuntimeError("the LLM endpoint closed the stream before the reply was complete");
    const toolCalls = calls.filter(Boolean).map((call, index) => ({ id: call.id || `call_${index}`, type: "function" as const, function: { name: call.name, arguments: call.arguments } }));
    return { content, tool_calls: this.checkToolCalls(toolCalls), finish_reason: finishReason, model, usage };
  }

  private checkToolCalls(calls: ToolCall[]): ToolCall[] {
    if (!Array.isArray(calls) || !calls.every((call) => typeof call?.function?.name === "string" && call.function.name !== "")) {
      throw new MalformedReplyError("a tool call without a function name");
    }
    return calls.map((call) => ({ id: call.id, type: "function", function: { name: call.function.name, arguments: typeof call.function.arguments === "string" ? call.function.arguments : JSON.stringify(call.function.arguments ?? {}) } }));
  }
}
