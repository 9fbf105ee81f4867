/** A small client for the studio API and its event stream, shared by integration and end-to-end tests. */
import { API_ROUTES } from "../../src/studio/api.ts";
import { errorResponse } from "../../src/studio/schemas.ts";

export interface ApiReply {
  status: number;
  headers: Headers;
  body: any;
}

export interface ApiRequest {
  body?: unknown;
  /** Sent as is (for malformed JSON); wins over body. */
  raw?: string | Uint8Array | ReadableStream<Uint8Array>;
  /** Bearer token; null sends none. */
  token?: string | null;
  headers?: Record<string, string>;
}

export function studioClient(baseUrl: string, defaultToken?: string) {
  return async function api(method: string, path: string, request: ApiRequest = {}): Promise<ApiReply> {
    const token = request.token === undefined ? defaultToken : request.token;
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...request.headers };
    let body: BodyInit | undefined;
    if (request.raw !== undefined) body = request.raw as BodyInit;
    else if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers["content-type"] = "application/json";
    }
    const response = await fetch(new URL(path, baseUrl), { method, headers, body, redirect: "manual" });
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get("content-type") ?? "").includes("json")) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed };
  };
}

/**
 * Checks a reply against the route table: a success body against the route's response schema,
 * an error against the error shape. The schemas are strict, so an undocumented field fails.
 */
export function expectDocumented(method: string, path: string, reply: ApiReply): void {
  const pathname = new URL(path, "http://x").pathname;
  const route = API_ROUTES.find((candidate) => candidate.method === method && new RegExp(`^${candidate.path.replace(/\{\w+\}/g, "[^/]+")}$`).test(pathname));
  if (!route) throw new Error(`no route for ${method} ${pathname}`);
  const own = reply.status === route.response.status || route.response.alsoOn?.includes(reply.status);
  const schema = own ? route.response.schema : errorResponse;
  if (!schema) return;
  const parsed = schema.safeParse(reply.body);
  if (!parsed.success) throw new Error(`${method} ${path} answered ${reply.status} with a body the API does not document: ${parsed.error.message}\n${JSON.stringify(reply.body).slice(0, 2000)}`);
}

export interface ServerSentEvent {
  event: string;
  data: any;
}

/** Reads a text/event-stream; `next(predicate)` waits for a matching event (bounded). */
export async function openEventStream(url: string, init: RequestInit = {}) {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  if (response.status !== 200) {
    const text = await response.text();
    controller.abort();
    return { status: response.status, text, events: [] as ServerSentEvent[], next: async () => undefined as never, close() {} };
  }
  const events: ServerSentEvent[] = [];
  const waiters: Array<() => void> = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) events.push({ event, data: JSON.parse(data) });
          for (const wake of waiters.splice(0)) wake();
        }
      }
    } catch {
      // aborted
    }
  })();
  let seen = 0;
  return {
    status: 200,
    text: "",
    events,
    /** The next event (after those already returned) that matches, within the timeout. */
    async next(matches: (event: ServerSentEvent) => boolean, timeoutMs = 10_000): Promise<ServerSentEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (seen < events.length) {
          const event = events[seen++]!;
          if (matches(event)) return event;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got: ${events.map((e) => `${e.event}:${JSON.stringify(e.data).slice(0, 80)}`).join(" | ")}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(remaining, 200));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close() {
      controller.abort();
    },
  };
}
