/**
 * An OpenAI-compatible chat-completions endpoint on a free loopback port. Each request takes the
 * next scripted answer (or asks `respond`): a reply (content and/or tool calls, streamed as
 * server-sent events when the request says stream: true), an error status with headers, or raw
 * bytes that are not a completion at all.
 */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FakeAnswer =
  | { content?: string; tool_calls?: Array<{ name: string; arguments: unknown }>; usage?: Usage; model?: string; delayPerChunkMs?: number }
  | { status: number; headers?: Record<string, string>; body?: string }
  | { raw: string; contentType: string };

export interface RecordedRequest {
  body: { model: string; messages: Array<Record<string, unknown>>; stream?: boolean; tools?: Array<{ function: { name: string } }> } & Record<string, unknown>;
  authorization: string | null;
  at: number;
}

export interface FakeLlm {
  /** The base_url to configure (ends in /v1). */
  url: string;
  requests: RecordedRequest[];
  answers: FakeAnswer[];
  respond?: (request: RecordedRequest) => FakeAnswer;
  stop(): Promise<void>;
}

const DEFAULT_USAGE: Usage = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };

function sse(events: unknown[], delayMs: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let index = 0;
  return new ReadableStream({
    async pull(controller) {
      if (index >= events.length) return controller.close();
      if (delayMs > 0) await Bun.sleep(delayMs);
      const event = events[index++];
      controller.enqueue(encoder.encode(`data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`));
    },
  });
}

function completion(answer: Extract<FakeAnswer, { content?: string }>, model: string, stream: boolean): Response {
  const toolCalls = (answer.tool_calls ?? []).map((call, index) => ({ id: `call_${index}`, type: "function", function: { name: call.name, arguments: JSON.stringify(call.arguments) } }));
  const finish = toolCalls.length > 0 ? "tool_calls" : "stop";
  const usage = answer.usage ?? DEFAULT_USAGE;
  if (!stream) {
    return Response.json({
      id: "chatcmpl-1",
      object: "chat.completion",
      model,
      choices: [{ index: 0, message: { role: "assistant", content: answer.content ?? null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) }, finish_reason: finish }],
      usage,
    });
  }
  const base = { id: "chatcmpl-1", object: "chat.completion.chunk", model };
  const events: unknown[] = [{ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }];
  // Word by word, keeping the spaces and newlines, as tokens arrive.
  for (const piece of (answer.content ?? "").match(/\s*\S+|\s+/g) ?? []) events.push({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
  toolCalls.forEach((call, index) => {
    const half = Math.ceil(call.function.arguments.length / 2);
    events.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments.slice(0, half) } }] }, finish_reason: null }] });
    events.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: call.function.arguments.slice(half) } }] }, finish_reason: null }] });
  });
  events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
  events.push({ ...base, choices: [], usage });
  events.push("[DONE]");
  return new Response(sse(events, answer.delayPerChunkMs ?? 0), { headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" } });
}

export function startFakeLlm(): FakeLlm {
  const fake: FakeLlm = {
    url: "",
    requests: [],
    answers: [],
    async stop() {
      await server.stop(true);
    },
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(request) {
      if (new URL(request.url).pathname !== "/v1/chat/completions" || request.method !== "POST") return new Response("not found", { status: 404 });
      const recorded: RecordedRequest = { body: (await request.json()) as RecordedRequest["body"], authorization: request.headers.get("authorization"), at: Date.now() };
      fake.requests.push(recorded);
      const answer = fake.answers.shift() ?? fake.respond?.(recorded) ?? { status: 500, body: JSON.stringify({ error: { message: "the fake has no scripted answer left" } }) };
      if ("status" in answer) return new Response(answer.body ?? "", { status: answer.status, headers: answer.headers });
      if ("raw" in answer) return new Response(answer.raw, { headers: { "Content-Type": answer.contentType } });
      return completion(answer, answer.model ?? recorded.body.model, recorded.body.stream === true);
    },
  });
  fake.url = `http://127.0.0.1:${server.port}/v1`;
  return fake;
}
