/**
 * Turns the route table into Bun.serve routes: for each route, authorize → parse path, query
 * and body → the route's own checks → 503 if it needs Redis and Redis is away → handler. Paths
 * that exist with another method answer 405, unknown paths a JSON 404; the dashboard is "/".
 */
import type { Server } from "bun";
import type { StudioContext } from "./context.ts";
import { ApiError, errorResponse, jsonResponse, parseInput, readJsonBody, redisUnavailable } from "./http.ts";
import type { Route } from "./route.ts";

type BunHandler = (request: Request & { params?: Record<string, string> }, server: Server<unknown>) => Promise<Response>;

function bunPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

function pathPattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, "[^/]+")}$`);
}

function queryObject(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] ??= value;
  return query;
}

function handlerFor(route: Route<any, any, any>, context: StudioContext): BunHandler {
  return async (request, server) => {
    try {
      context.auth.authorize(request, route.access);
      const params = route.params ? parseInput(route.params, request.params ?? {}, "path") : undefined;
      const query = route.query ? parseInput(route.query, queryObject(new URL(request.url)), "query") : undefined;
      const body = route.body ? parseInput(route.body, await readJsonBody(request, context.maxBodyBytes), "body") : undefined;
      const input = { params, query, body, request, server, context };
      route.validate?.(input);
      if (route.redis && !context.broker.isConnected()) throw redisUnavailable();
      const result = await route.handle(input);
      return result instanceof Response ? result : jsonResponse(result, route.response.status);
    } catch (error) {
      return errorResponse(error, context.logger);
    }
  };
}

export interface StudioRoutes {
  routes: Record<string, Record<string, BunHandler> | Bun.HTMLBundle>;
  fallback(request: Request): Response;
}

export function buildRoutes(table: Route<any, any, any>[], context: StudioContext, dashboard: Bun.HTMLBundle): StudioRoutes {
  const routes: StudioRoutes["routes"] = { "/": dashboard };
  const methodsByPath = new Map<string, { pattern: RegExp; methods: string[] }>();
  for (const route of table) {
    const path = bunPath(route.path);
    const methods = (routes[path] ??= {}) as Record<string, BunHandler>;
    methods[route.method] = handlerFor(route, context);
    const entry = methodsByPath.get(route.path) ?? { pattern: pathPattern(route.path), methods: [] };
    entry.methods.push(route.method);
    methodsByPath.set(route.path, entry);
  }
  return {
    routes,
    fallback(request) {
      const { pathname } = new URL(request.url);
      for (const { pattern, methods } of methodsByPath.values()) {
        if (pattern.test(pathname)) {
          return errorResponse(
            new ApiError(405, "method_not_allowed", `${request.method} is not allowed on ${pathname}; use ${methods.join(" or ")}`, { headers: { allow: methods.join(", ") } }),
            context.logger,
          );
        }
      }
      const hint = pathname.startsWith("/api/") ? "GET /api/v1/openapi.json lists every endpoint" : "the dashboard is at /";
      return jsonResponse({ error: { code: "not_found", message: `no such path: ${pathname}`, hint } }, 404);
    },
  };
}
