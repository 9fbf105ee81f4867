/**
 * The studio's routes: the JSON API under /api/v1, the probes and /metrics. Each handler checks
 * its input at the top (schemas in schemas.ts) and delegates: reads to the Inspector, writes to
 * the Producer, job-control and queue-control. Schedules (beat) add their routes here.
 */
import type { Job } from "bullmq";
import type { z } from "zod";
import { planEnqueue, type EnqueueOptions } from "../broker/producer.ts";
import { retryJob, revokeJob } from "../broker/job-control.ts";
import { setQueuePaused } from "../broker/queue-control.ts";
import { parseDurationMs } from "../util/duration.ts";
import { NotFoundError, UsageError } from "../util/errors.ts";
import { healthResponse, readinessResponse } from "../util/probes.ts";
import { didYouMean } from "../util/suggest.ts";
import { ApiError, jsonResponse } from "./http.ts";
import { openApiDocument } from "./openapi.ts";
import { defineRoute, type Route } from "./route.ts";
import type { StudioContext } from "./context.ts";
import {
  enqueueBody,
  jobDetailQuery,
  jobIdParams,
  jobListQuery,
  queueParams,
  responses,
  sessionBody,
  taskParams,
} from "./schemas.ts";

async function findJob(context: StudioContext, id: string, queue?: string) {
  if (queue) await context.inspector.requireQueue(queue);
  return await context.inspector.findJob(id, queue);
}

function requireTask(context: StudioContext, name: string): void {
  try {
    context.registry.require(name);
  } catch (error) {
    throw new NotFoundError((error as UsageError).message, "GET /api/v1/tasks lists the registered tasks");
  }
}

function enqueueOptions(body: z.output<typeof enqueueBody>): EnqueueOptions {
  return {
    targets: body.targets,
    delayMs: typeof body.delay === "string" ? parseDurationMs(body.delay) : body.delay,
    priority: body.priority,
    source: "studio",
  };
}

function queuePauseRoute(paused: boolean) {
  const verb = paused ? "pause" : "resume";
  return defineRoute({
    method: "POST",
    path: `/api/v1/queues/{name}/${verb}`,
    operationId: `${verb}Queue`,
    summary: paused ? "Pause a queue: workers take no new jobs from it; running jobs finish" : "Resume a paused queue",
    tag: "queues",
    access: "write",
    redis: true,
    params: queueParams,
    response: { status: 200, description: "the queue's state now and before", schema: responses.queuePaused },
    async handle({ params, context }) {
      return await setQueuePaused(context.broker, await context.inspector.requireQueue(params.name), paused);
    },
  });
}

function sessionState(context: StudioContext, authenticated: boolean): z.output<typeof responses.session> {
  return { auth_required: context.auth.required, public_read: context.auth.publicRead, authenticated };
}

/** POST /api/v1/jobs/{id}/<verb>: find the job (in ?queue= when given), then act on it. */
function jobActionRoute(verb: "retry" | "revoke", summary: string, response: { description: string; schema: z.ZodType }, act: (context: StudioContext, job: Job) => Promise<unknown>) {
  return defineRoute({
    method: "POST",
    path: `/api/v1/jobs/{id}/${verb}`,
    operationId: `${verb}Job`,
    summary,
    tag: "jobs",
    access: "write",
    redis: true,
    params: jobIdParams,
    query: jobDetailQuery,
    errors: [409],
    response: { status: 200, ...response },
    async handle({ params, query, context }) {
      return await act(context, await findJob(context, params.id, query.queue));
    },
  });
}

export const API_ROUTES: Route<any, any, any>[] = [
  defineRoute({
    method: "GET",
    path: "/api/v1/queues",
    operationId: "listQueues",
    summary: "Queues with job counts by state, paused flag, jobs per minute and a 30-minute throughput series",
    tag: "queues",
    access: "read",
    redis: true,
    response: { status: 200, description: "every declared queue and any a live worker consumes", schema: responses.queues },
    async handle({ context }) {
      return { queues: await context.inspector.queueOverview() };
    },
  }),
  queuePauseRoute(true),
  queuePauseRoute(false),
  defineRoute({
    method: "GET",
    path: "/api/v1/workers",
    operationId: "listWorkers",
    summary: "Live workers from their heartbeats: queues, slots in use, current jobs, last heartbeat",
    tag: "workers",
    access: "read",
    redis: true,
    response: { status: 200, description: "live workers, oldest first", schema: responses.workers },
    async handle({ context }) {
      return { workers: await context.inspector.workers() };
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/jobs",
    operationId: "listJobs",
    summary: "A page of jobs, filtered by queue, state and task; follow next_cursor for the next page",
    tag: "jobs",
    access: "read",
    redis: true,
    query: jobListQuery,
    response: { status: 200, description: "jobs, queue by queue and state by state, newest first", schema: responses.jobs },
    async handle({ query, context }) {
      if (query.queue) {
        const known = await context.inspector.queueNames();
        if (!known.includes(query.queue)) {
          throw new ApiError(400, "invalid_request", `queue: unknown queue "${query.queue}"${didYouMean(query.queue, known)}`, { field: "queue" });
        }
      }
      return await context.inspector.listJobs(query);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/jobs/{id}",
    operationId: "getJob",
    summary: "One job: arguments, progress, logs, result or error with stack, attempts, timestamps, worker",
    tag: "jobs",
    access: "read",
    redis: true,
    params: jobIdParams,
    query: jobDetailQuery,
    errors: [409],
    response: { status: 200, description: "the job", schema: responses.job },
    async handle({ params, query, context }) {
      const job = await findJob(context, params.id, query.queue);
      const [detail, logs] = await Promise.all([context.inspector.detail(job), context.inspector.logs(job)]);
      return { ...detail, logs };
    },
  }),
  jobActionRoute("retry", "Run a failed or completed job again", { description: "the job is queued again", schema: responses.retried }, (context, job) => retryJob(job)),
  jobActionRoute(
    "revoke",
    "Revoke a job: a waiting or delayed one is removed, a running one is aborted by its worker",
    { description: "what happened to the job", schema: responses.revoked },
    (context, job) => revokeJob(context.broker, job),
  ),
  defineRoute({
    method: "GET",
    path: "/api/v1/tasks",
    operationId: "listTasks",
    summary: "Registered tasks with their queue, options and the JSON Schema of their arguments",
    tag: "tasks",
    access: "read",
    redis: false,
    response: { status: 200, description: "tasks by name", schema: responses.tasks },
    handle({ context }) {
      return { tasks: context.registry.names().map((name) => context.registry.summary(name)) };
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/tasks/{name}",
    operationId: "enqueueTask",
    summary: "Enqueue a task: arguments are validated and every target resolved before anything is added (one job per host for a role)",
    tag: "tasks",
    access: "write",
    redis: true,
    params: taskParams,
    body: enqueueBody,
    response: { status: 202, description: "the jobs enqueued", schema: responses.enqueued },
    validate({ params, body, context }) {
      requireTask(context, params.name);
      planEnqueue(context.broker.config, context.registry, params.name, body.args, enqueueOptions(body));
    },
    async handle({ params, body, context }) {
      return { jobs: await context.producer.enqueue(params.name, body.args, enqueueOptions(body)) };
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/events",
    operationId: "streamEvents",
    summary: "Server-sent events: snapshot, job, queue, queues and worker changes",
    tag: "events",
    access: "read",
    redis: true,
    response: {
      status: 200,
      description:
        "text/event-stream. `snapshot` {queues, workers} first; then `job` {queue, id, event, task?, progress?, failed_reason?, prev?, at}, " +
        "`queue` {queue, event: paused|resumed, at}, `queues` {queues} (counts, at most once a second after changes), `worker` {change: up|down|update, worker}",
      contentType: "text/event-stream",
    },
    async handle({ request, server, context }) {
      return await context.hub.stream(request, server);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/session",
    operationId: "getSession",
    summary: "Whether the studio needs a token, and whether this request carries a valid one",
    tag: "session",
    access: "public",
    redis: false,
    response: { status: 200, description: "the dashboard's sign-in state", schema: responses.session },
    handle({ request, context }) {
      return sessionState(context, !context.auth.required || context.auth.isAuthenticated(request));
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/session",
    operationId: "signIn",
    summary: "Dashboard sign-in: trades the token for an HttpOnly session cookie (EventSource cannot send headers)",
    tag: "session",
    access: "public",
    redis: false,
    body: sessionBody,
    errors: [401],
    response: { status: 200, description: "signed in; the cookie is set", schema: responses.session },
    handle({ request, body, context }) {
      if (context.auth.required && !context.auth.isToken(body.token)) {
        throw new ApiError(401, "unauthorized", "the token is not valid", { field: "token", hint: "use the value of LLMCTL_STUDIO_TOKEN or the studio's token file" });
      }
      const secure = new URL(request.url).protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
      return jsonResponse(sessionState(context, true), 200, {
        ...(context.auth.required ? { "set-cookie": context.auth.sessionCookie(secure) } : {}),
      });
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/session",
    operationId: "signOut",
    summary: "Dashboard sign-out: clears the session cookie",
    tag: "session",
    access: "public",
    redis: false,
    response: { status: 200, description: "signed out", schema: responses.session },
    handle({ context }) {
      return jsonResponse(sessionState(context, !context.auth.required), 200, {
        "set-cookie": context.auth.clearedCookie(),
      });
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/openapi.json",
    operationId: "getOpenApi",
    summary: "This API as an OpenAPI 3.1 document",
    tag: "docs",
    access: "public",
    redis: false,
    response: { status: 200, description: "the OpenAPI document", contentType: "application/json" },
    handle() {
      return openApiDocument(API_ROUTES);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/healthz",
    operationId: "health",
    summary: "Liveness: 200 while the event loop keeps up, 503 when it is stuck",
    tag: "probes",
    access: "public",
    redis: false,
    response: { status: 200, description: "alive (503: stuck)", schema: responses.health, alsoOn: [503] },
    handle({ context }) {
      return healthResponse(context.monitor);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/readyz",
    operationId: "ready",
    summary: "Readiness: 200 while Redis is connected, 503 otherwise",
    tag: "probes",
    access: "public",
    redis: false,
    response: { status: 200, description: "ready for traffic (503: not ready)", schema: responses.ready, alsoOn: [503] },
    handle({ context }) {
      const connected = context.broker.isConnected();
      return readinessResponse({ ready: connected, detail: { redis: connected ? "connected" : "disconnected" } });
    },
  }),
  defineRoute({
    method: "GET",
    path: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics: jobs by queue and state, run time per task, worker slots in use, Redis up",
    tag: "probes",
    access: "public",
    redis: false,
    response: { status: 200, description: "Prometheus text exposition format", contentType: "text/plain; version=0.0.4" },
    async handle({ context }) {
      return new Response(await context.metrics.render(), { headers: { "content-type": context.metrics.contentType } });
    },
  }),
];
