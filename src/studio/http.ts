/**
 * HTTP plumbing of the studio API: one error shape `{ error: { code, message, field?, hint? } }`
 * for every failure, request bodies read with a size cap, and the mapping from llmctl's error
 * classes to status codes. Bad input never becomes a 500.
 */
import type { z } from "zod";
import { AmbiguousJobError, InvalidCursorError } from "../broker/inspector.ts";
import { EnqueueError } from "../broker/producer.ts";
import { ConflictError, NotFoundError, UsageError, errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import { formatBytes } from "../util/bytes.ts";

export type ErrorCode =
  | "invalid_json"
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "payload_too_large"
  | "redis_unavailable"
  | "internal";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly options: { field?: string; hint?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

function errorBody(code: ErrorCode, message: string, field?: string, hint?: string): { error: Record<string, string> } {
  return { error: { code, message, ...(field ? { field } : {}), ...(hint ? { hint } : {}) } };
}

/** ioredis' ways of saying the server is away: the request can be retried later, nothing happened. */
export function isRedisUnavailable(error: unknown): boolean {
  const text = `${(error as { name?: string })?.name ?? ""} ${errorMessage(error)} ${(error as NodeJS.ErrnoException)?.code ?? ""}`;
  return /MaxRetriesPerRequest|Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|enableOfflineQueue|LOADING|CLUSTERDOWN/i.test(text);
}

export function redisUnavailable(): ApiError {
  return new ApiError(503, "redis_unavailable", "Redis is not reachable right now; nothing was changed", { hint: "retry shortly; /readyz reports when the connection is back" });
}

/** The response for anything a handler threw. Only a bug in llmctl answers 500. */
export function errorResponse(error: unknown, logger: Logger): Response {
  if (error instanceof ApiError) {
    return jsonResponse(errorBody(error.code, error.message, error.options.field, error.options.hint), error.status, error.options.headers);
  }
  if (error instanceof EnqueueError) return jsonResponse(errorBody("invalid_request", error.message, error.field, error.hint), 400);
  if (error instanceof InvalidCursorError) return jsonResponse(errorBody("invalid_request", error.message, error.field, error.hint), 400);
  if (error instanceof AmbiguousJobError) {
    return jsonResponse(errorBody("conflict", error.message, "id", "name the queue with ?queue="), 409);
  }
  if (error instanceof NotFoundError) return jsonResponse(errorBody("not_found", error.message, undefined, error.hint), 404);
  if (error instanceof ConflictError) return jsonResponse(errorBody("conflict", error.message, undefined, error.hint), 409);
  if (error instanceof UsageError) return jsonResponse(errorBody("invalid_request", error.message, undefined, error.hint), 400);
  if (isRedisUnavailable(error)) return errorResponse(redisUnavailable(), logger);
  logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : error }, "studio request failed");
  return jsonResponse(errorBody("internal", `internal error: ${errorMessage(error)}`), 500);
}

/** Reads a JSON body of at most maxBytes; undefined for an empty body. */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const tooLarge = () =>
    new ApiError(413, "payload_too_large", `request body is larger than ${formatBytes(maxBytes)} (studio.max_body)`, {
      hint: "send less data, or raise studio.max_body in the config",
    });
  const declared = Number(request.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  if (!request.body) return undefined;
  // Read in chunks so a body without a (truthful) Content-Length is cut off at the limit, not buffered whole.
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(Buffer.concat(chunks));
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, "invalid_json", `request body is not valid JSON: ${errorMessage(error)}`, { hint: 'send a JSON object, e.g. {"args": {}}' });
  }
}

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("").replace(/^\./, "");
}

/** Parses with a zod schema, or throws a 400 naming the first field at fault (prefixed by where it was). */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: "path" | "query" | "body"): z.output<T> {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  let field = issuePath(issue.path);
  let message = issue.message.replace(/^Invalid input: /, "");
  if (issue.code === "unrecognized_keys") {
    field = [field, issue.keys[0]].filter(Boolean).join(".");
    message = `unknown ${where === "query" ? "parameter" : "field"}`;
  } else if (issue.code === "invalid_type" && issue.input === undefined) {
    message = "required";
  }
  const label = field || (where === "body" ? "body" : where);
  throw new ApiError(400, "invalid_request", `${label}: ${message}`, { field: label });
}
