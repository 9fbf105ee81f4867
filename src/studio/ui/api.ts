/**
 * Calls to the studio API from the dashboard. The session cookie rides along by itself; every
 * change carries the header that tells the server the request comes from this page. A failure
 * carries the server's own message and the field it names, so the page can show them as they are.
 */
import type { z } from "zod";
import type { responses } from "../schemas.ts";

export type QueueOverview = z.output<typeof responses.queues>["queues"][number];
export type Worker = z.output<typeof responses.workers>["workers"][number];
export type JobPage = z.output<typeof responses.jobs>;
export type JobSummary = JobPage["jobs"][number];
export type JobDetail = z.output<typeof responses.job>;
export type TaskSummary = z.output<typeof responses.tasks>["tasks"][number];
export type Session = z.output<typeof responses.session>;
export type EnqueuedJobs = z.output<typeof responses.enqueued>;

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Called when a request is refused for want of a valid session, so the page can ask for the token. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(callback: () => void): void {
  onUnauthorized = callback;
}

export async function call<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") headers["x-requested-by"] = "llmctl-studio";
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  } catch {
    throw new ApiFailure(0, "network", "the studio did not answer; is it still running?");
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; field?: string; hint?: string } } | undefined)?.error;
    const failure = new ApiFailure(response.status, error?.code ?? "http", error?.message ?? `${response.status} ${response.statusText}`, error?.field, error?.hint);
    if (response.status === 401 && path !== "/api/v1/session") onUnauthorized();
    throw failure;
  }
  return parsed as T;
}

export const api = {
  session: () => call<Session>("GET", "/api/v1/session"),
  signIn: (token: string) => call<Session>("POST", "/api/v1/session", { token }),
  signOut: () => call<Session>("DELETE", "/api/v1/session"),
  queues: () => call<{ queues: QueueOverview[] }>("GET", "/api/v1/queues"),
  workers: () => call<{ workers: Worker[] }>("GET", "/api/v1/workers"),
  tasks: () => call<{ tasks: TaskSummary[] }>("GET", "/api/v1/tasks"),
  jobs: (query: Record<string, string | undefined>) => {
    const search = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => Boolean(entry[1])));
    return call<JobPage>("GET", `/api/v1/jobs${search.size ? `?${search}` : ""}`);
  },
  job: (id: string) => call<JobDetail>("GET", `/api/v1/jobs/${encodeURIComponent(id)}`),
  retry: (id: string) => call<{ id: string; queue: string; previous_state: string }>("POST", `/api/v1/jobs/${encodeURIComponent(id)}/retry`),
  revoke: (id: string) => call<{ id: string; queue: string; previous_state: string; outcome: string }>("POST", `/api/v1/jobs/${encodeURIComponent(id)}/revoke`),
  setPaused: (queue: string, paused: boolean) => call<{ queue: string; paused: boolean }>("POST", `/api/v1/queues/${encodeURIComponent(queue)}/${paused ? "pause" : "resume"}`),
  enqueue: (task: string, body: { args: Record<string, unknown>; targets?: string[]; delay?: string }) =>
    call<EnqueuedJobs>("POST", `/api/v1/tasks/${encodeURIComponent(task)}`, body),
};
