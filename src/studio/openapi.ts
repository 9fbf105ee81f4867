/**
 * The OpenAPI 3.1 document of the studio, generated from the route table and its zod schemas
 * (JSON Schema 2020-12, which OpenAPI 3.1 uses as is). Served at /api/v1/openapi.json.
 */
import { z } from "zod";
import { VERSION } from "../version.ts";
import { SESSION_COOKIE } from "./auth.ts";
import { routeStatuses, type Route } from "./route.ts";
import { errorResponse } from "./schemas.ts";

const STATUS_TEXT: Record<number, string> = {
  400: "invalid input: malformed JSON, a wrong type, an unknown field, target or cursor (error.field names it)",
  401: "the token is missing or not valid",
  403: "a change made with the dashboard's cookie without its request header",
  404: "no such job, queue or task",
  409: "the job is in the wrong state for this, or its id exists in several queues",
  413: "the request body is larger than studio.max_body",
  503: "Redis is not reachable; nothing was changed",
};

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

function parameters(schema: z.ZodType | undefined, location: "path" | "query"): Array<Record<string, unknown>> {
  if (!schema) return [];
  const object = jsonSchema(schema, "input") as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: location,
      required: location === "path" || (object.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: propertySchema,
    };
  });
}

/** The names a route takes besides its path: `?a&b` for query parameters, `{a, b}` for body fields (for the README table). */
export function routeInputSummary(route: Route<any, any, any>): string {
  const parts: string[] = [];
  const query = parameters(route.query, "query").map((parameter) => String(parameter.name));
  if (query.length) parts.push(`?${query.join("&")}`);
  if (route.body) {
    const body = jsonSchema(route.body, "input") as { properties?: Record<string, unknown> };
    parts.push(`{${Object.keys(body.properties ?? {}).join(", ")}}`);
  }
  return parts.join(" ");
}

function operation(route: Route<any, any, any>): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const status of routeStatuses(route)) {
    const own = status === route.response.status || route.response.alsoOn?.includes(status);
    if (own) {
      const contentType = route.response.contentType ?? "application/json";
      responses[String(status)] = {
        description: status === route.response.status ? route.response.description : STATUS_TEXT[status] ?? route.response.description,
        content: { [contentType]: route.response.schema ? { schema: jsonSchema(route.response.schema, "output") } : {} },
      };
    } else {
      responses[String(status)] = { description: STATUS_TEXT[status] ?? "error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    }
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    security: route.access === "public" ? [] : [{ bearer: [] }, { session: [] }],
    ...(route.access === "read" ? { description: "Open without a token when studio.public_read is true." } : {}),
    parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query")],
    ...(route.body ? { requestBody: { required: false, content: { "application/json": { schema: jsonSchema(route.body, "input") } } } } : {}),
    responses,
  };
}

export function openApiDocument(routes: Route<any, any, any>[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "llmctl studio API",
      version: VERSION,
      description: "Enqueue and inspect jobs, workers and queues. Errors are { error: { code, message, field?, hint? } }.",
    },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "LLMCTL_STUDIO_TOKEN or the studio's token file" },
        session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE, description: "set by POST /api/v1/session; changes also need the header x-requested-by: llmctl-studio" },
      },
      schemas: { Error: jsonSchema(errorResponse, "output") },
    },
  };
}
