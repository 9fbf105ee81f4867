/** Real HTTP to a studio with its bearer token, for smoke: every request bounded in time. */
import { CheckFailed } from "./report.ts";

export interface StudioReply {
  status: number;
  contentType: string;
  text: string;
  /** Parsed JSON, when the studio answered JSON. */
  body: any;
}

export class StudioClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly timeoutMs: number,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  async request(method: "GET" | "POST", path: string, body?: unknown): Promise<StudioReply> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: this.headers(body === undefined ? {} : { "content-type": "application/json" }),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: "manual",
      });
    } catch (error) {
      throw new CheckFailed(`${method} ${new URL(path, this.baseUrl).href} got no answer: ${(error as Error).message}`);
    }
    const text = await response.text();
    const contentType = response.headers.get("content-type") ?? "";
    let parsed: unknown;
    if (contentType.includes("json")) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new CheckFailed(`${method} ${path} answered ${response.status} with JSON that does not parse`);
      }
    }
    return { status: response.status, contentType, text, body: parsed };
  }

  /** The request, which must answer `status` (or one of them); otherwise a failure quoting the studio's own error. */
  async expect(method: "GET" | "POST", path: string, status: number | number[], body?: unknown): Promise<StudioReply> {
    const reply = await this.request(method, path, body);
    const accepted = Array.isArray(status) ? status : [status];
    if (!accepted.includes(reply.status)) {
      const message = reply.body?.error?.message ?? reply.text.slice(0, 200);
      throw new CheckFailed(`${method} ${path} answered ${reply.status} (expected ${accepted.join(" or ")}): ${message}`);
    }
    return reply;
  }

  /** Opens the event stream and returns its first event (the snapshot), then hangs up. */
  async firstEvent(path: string): Promise<{ status: number; event?: string; data?: any }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const response = await fetch(new URL(path, this.baseUrl), { headers: this.headers(), signal: controller.signal });
      if (response.status !== 200 || !response.body) return { status: response.status };
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { status: response.status };
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) return { status: response.status, event, data: JSON.parse(data) };
        }
      }
    } catch (error) {
      throw new CheckFailed(`GET ${path}: no event within ${this.timeoutMs} ms (${(error as Error).message})`);
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  }
}
