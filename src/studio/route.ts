/**
 * One route of the studio: method, path, who may call it, the schemas of its input and output,
 * and the handler. The server, the OpenAPI document and the README's API table are all built
 * from the same list of these, so they cannot disagree.
 */
import type { Server } from "bun";
import type { z } from "zod";
import type { Access } from "./auth.ts";
import type { StudioContext } from "./context.ts";

export type Method = "GET" | "POST" | "DELETE";

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  request: Request;
  server: Server<unknown>;
  context: StudioContext;
}

export interface RouteResponse {
  status: number;
  description: string;
  /** JSON body schema; left out for non-JSON bodies (contentType says what). */
  schema?: z.ZodType;
  contentType?: string;
  /** Other statuses answered with this same body (a probe's 503), not with the error shape. */
  alsoOn?: number[];
}

export interface Route<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** OpenAPI form, e.g. /api/v1/jobs/{id}. */
  path: string;
  operationId: string;
  summary: string;
  /** Groups the OpenAPI document and the README table. */
  tag: "queues" | "jobs" | "tasks" | "workers" | "events" | "session" | "probes" | "docs";
  access: Access;
  /** Answered with 503 while Redis is not connected (after the input validated). */
  redis: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  response: RouteResponse;
  /** Statuses this route can answer besides the generic ones implied by its input, access and Redis use. */
  errors?: number[];
  /** Checks that need no Redis (task arguments, targets), run before the Redis check so bad input is a 400 even during an outage. */
  validate?(input: RouteInput<P, Q, B>): void;
  /** Returns the JSON body (sent with response.status) or a whole Response. */
  handle(input: RouteInput<P, Q, B>): Promise<unknown> | unknown;
}

export function defineRoute<P = undefined, Q = undefined, B = undefined>(route: Route<P, Q, B>): Route<P, Q, B> {
  return route;
}

/** Every status a route can answer, for the OpenAPI document. */
export function routeStatuses(route: Route<any, any, any>): number[] {
  const statuses = new Set<number>([route.response.status, ...(route.response.alsoOn ?? []), ...(route.errors ?? [])]);
  if (route.params || route.query || route.body) statuses.add(400);
  if (route.access !== "public") statuses.add(401);
  if (route.access === "write") statuses.add(403);
  if (route.params) statuses.add(404);
  if (route.body) statuses.add(413);
  if (route.redis) statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}
