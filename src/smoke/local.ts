/**
 * `llmctl smoke --local`: studio, worker (2 slots, every contract queue) and beat in this process
 * on a fresh in-memory embedded store (up/index.ts), then everything a user does, through the
 * studio's API over real HTTP with its token: a ping on every queue, a schedule dispatched by
 * beat, pause/trigger/resume, a running job revoked, and every GET endpoint checked against the
 * route table's response schemas.
 */
import { randomBytes } from "node:crypto";
import type { LoadedConfig } from "../config/load.ts";
import { scheduleSchema, type Schedule } from "../config/schema.ts";
import { API_ROUTES } from "../studio/api.ts";
import type { Route } from "../studio/route.ts";
import { startAll } from "../up/index.ts";
import type { Logger } from "../util/logger.ts";
import { CheckFailed, waitUntil, type SmokeReport } from "./report.ts";
import { StudioClient, type StudioReply } from "./studio-client.ts";

/** The schedule smoke adds: every second, so beat dispatches it within a second of starting. */
export const PROBE_SCHEDULE = "llmctl.smoke";
const SMOKE_HEARTBEAT = "5s";
const SMOKE_LEASE_TTL = "10s";
/** How long the revoked job would otherwise run. */
const REVOKED_SLEEP_MS = 60_000;

/**
 * The config as smoke runs it: an in-memory embedded store, the probe schedule, and the config's
 * own schedules kept (so beat still checks them) but disabled — a smoke run must not clean
 * workspaces or restart services because it happened to cross a fire time. Heartbeats and the
 * lease use the defaults: a config tuned for fast failover (a 2 s lease, 500 ms heartbeats) would
 * let a busy machine's event-loop stall expire them mid-run, and a smoke run tests the roles, not
 * the tuning.
 */
export function smokeConfig(loaded: LoadedConfig): LoadedConfig {
  const { config } = loaded;
  const schedules: Record<string, Schedule> = {};
  for (const [name, schedule] of Object.entries(config.schedules)) schedules[name] = { ...schedule, enabled: false };
  schedules[PROBE_SCHEDULE] = scheduleSchema.parse({
    cron: "* * * * * *",
    task: "llmctl.ping",
    targets: [config.queues[0]],
    overlap: "skip",
    description: "smoke: a ping every second, dispatched by beat",
  });
  return {
    ...loaded,
    config: {
      ...config,
      schedules,
      worker: { ...config.worker, heartbeat: SMOKE_HEARTBEAT },
      beat: { ...config.beat, heartbeat: SMOKE_HEARTBEAT, lease_ttl: SMOKE_LEASE_TTL },
    },
    redis: { kind: "embedded", origin: { url: "llmctl smoke --local" }, configured: true },
  };
}

export interface LocalSmokeOptions {
  loaded: LoadedConfig;
  logger: Logger;
  report: SmokeReport;
  timeoutMs: number;
  tasksDir?: string;
}

function ms(fromIso: string | null, toIso: string | null): string {
  return fromIso && toIso ? `${Date.parse(toIso) - Date.parse(fromIso)} ms` : "?";
}

async function jobReaching(api: StudioClient, id: string, queue: string, states: string[], timeoutMs: number): Promise<any> {
  return await waitUntil(`job ${id} did not become ${states.join(" or ")}`, timeoutMs, async () => {
    const { body } = await api.expect("GET", `/api/v1/jobs/${encodeURIComponent(id)}?queue=${encodeURIComponent(queue)}`, 200);
    if (states.includes(body.state)) return body;
    if (body.state === "failed") throw new CheckFailed(`job ${id} failed: ${body.error?.message ?? "no reason given"}`);
    return undefined;
  });
}

async function probeSchedule(api: StudioClient): Promise<any> {
  const { body } = await api.expect("GET", "/api/v1/schedules", 200);
  return body.schedules.find((candidate: { name: string }) => candidate.name === PROBE_SCHEDULE);
}

const LIVENESS_PATH = "/healthz";

/** What a GET endpoint must answer besides its status and schema, and the detail of a pass. */
const ENDPOINT_CHECKS: Record<string, (reply: StudioReply) => string> = {
  "/api/v1/openapi.json": (reply) => {
    const paths = new Set(API_ROUTES.map((route) => route.path));
    if (reply.body?.openapi !== "3.1.0" || Object.keys(reply.body.paths ?? {}).length !== paths.size) {
      throw new CheckFailed(`not the OpenAPI 3.1 document of the ${paths.size} paths`);
    }
    return `OpenAPI ${reply.body.openapi}, ${paths.size} paths`;
  },
  "/metrics": (reply) => {
    for (const line of ["llmctl_redis_up 1", "llmctl_beat_lease_held 1", "llmctl_workers 1"]) {
      if (!reply.text.includes(`${line}\n`)) throw new CheckFailed(`no "${line}" in the metrics`);
    }
    return `${reply.text.split("\n").filter((line) => line && !line.startsWith("#")).length} samples`;
  },
};

/** "tasks: 12" for each list in the body, else its keys. */
function describeBody(body: unknown): string {
  if (!body || typeof body !== "object") return "";
  const lists = Object.entries(body).filter(([, value]) => Array.isArray(value));
  if (lists.length > 0) return lists.map(([key, value]) => `${key}: ${(value as unknown[]).length}`).join(", ");
  return Object.keys(body).slice(0, 4).join(", ");
}

async function checkEndpoint(route: Route<any, any, any>, path: string, api: StudioClient): Promise<string> {
  if (route.response.contentType === "text/event-stream") {
    const first = await api.firstEvent(path);
    if (first.status !== 200) throw new CheckFailed(`answered ${first.status}`);
    const data = first.data ?? {};
    const missing = ["queues", "workers", "schedules", "beats"].filter((key) => !Array.isArray(data[key]));
    if (first.event !== "snapshot" || missing.length) throw new CheckFailed(`the first event is not a snapshot with queues, workers, schedules and beats (got ${first.event ?? "none"})`);
    return `snapshot: ${describeBody(data)}`;
  }
  // /healthz's 503 says the event loop stalled for 2 s within the last 10 (on a starved machine,
  // compiling the store's Lua scripts can): the probe worked, so that answer passes, noted.
  const reply = await api.expect("GET", path, route.path === LIVENESS_PATH ? [route.response.status, 503] : [route.response.status]);
  if (route.response.schema) {
    const parsed = route.response.schema.safeParse(reply.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CheckFailed(`the body does not match the API's schema at ${issue.path.join(".") || "the top"}: ${issue.message}`);
    }
  } else if (route.response.contentType && !reply.contentType.startsWith(route.response.contentType.split(";")[0]!)) {
    throw new CheckFailed(`content type ${reply.contentType}, expected ${route.response.contentType}`);
  }
  if (route.path === LIVENESS_PATH && reply.status === 503) return `503, the event loop stalled ${reply.body.event_loop_lag_ms} ms within the last 10 s (a busy machine); the probe answers`;
  const extra = ENDPOINT_CHECKS[route.path]?.(reply);
  return [String(reply.status), extra ?? describeBody(reply.body)].filter(Boolean).join(", ");
}

export async function runLocalSmoke(options: LocalSmokeOptions): Promise<void> {
  const { report, timeoutMs } = options;
  const loaded = smokeConfig(options.loaded);
  const token = randomBytes(24).toString("base64url");
  const up = await startAll({ loaded, logger: options.logger, token, host: "127.0.0.1", port: 0, concurrency: 2, graceMs: 1000, studioPollMs: 100, tasksDir: options.tasksDir });
  try {
    const api = new StudioClient(up.url, token, timeoutMs);
    const queues = loaded.config.queues;
    const defaultQueue = queues[0]!;

    await Promise.all([
      report.check("worker consumes every queue", async () => {
        const { body } = await api.expect("GET", "/api/v1/workers", 200);
        const worker = body.workers.find((candidate: { id: string }) => candidate.id === up.worker.id);
        if (!worker) throw new CheckFailed(`the worker ${up.worker.id} publishes no heartbeat`);
        const missing = queues.filter((queue) => !worker.queues.includes(queue));
        if (missing.length) throw new CheckFailed(`queue ${missing[0]}: the worker does not consume it`);
        return `${worker.queues.length} queues, ${worker.concurrency} slots`;
      }),
      report.check("beat holds the lease", async () =>
        await waitUntil("beat did not take the lease", timeoutMs, async () => {
          const { body } = await api.expect("GET", "/api/v1/schedules", 200);
          return body.lease?.holder === up.beat.id ? `${up.beat.id}, lease token ${body.lease.token}` : undefined;
        }),
      ),
    ]);

    // Independent checks run side by side; a check waits only for what it needs (the endpoint
    // checks for a job to fetch, schedule control for beat's dispatch), so the run takes as long
    // as its longest chain, mostly the wait for the probe schedule's first whole second.
    const pings = queues.map(async (queue) => {
      let id: string | undefined;
      await report.check(`ping on ${queue}`, async () => {
        const { body } = await api.expect("POST", "/api/v1/tasks/llmctl.ping", 202, { targets: [queue] });
        const job = await jobReaching(api, body.jobs[0].id, queue, ["completed"], timeoutMs);
        if (job.result?.queue !== queue) throw new CheckFailed(`the ping ran, but reported queue ${job.result?.queue}`);
        id = job.id;
        return `completed in ${ms(job.started_at, job.finished_at)} by ${job.worker}`;
      });
      return id;
    });
    const endpoints = Promise.all(pings).then(async (ids) => {
      const sample: Record<string, string | undefined> = { id: ids.find(Boolean) };
      await Promise.all(
        API_ROUTES.filter((route) => route.method === "GET").map(async (route) => {
          const name = `GET ${route.path}`;
          if ([...route.path.matchAll(/\{(\w+)\}/g)].some((match) => !sample[match[1]!])) {
            report.skip(name, "no ping completed, so there is no job to fetch");
            return;
          }
          const path = route.path.replace(/\{(\w+)\}/g, (_, key: string) => encodeURIComponent(sample[key]!));
          await report.check(name, () => checkEndpoint(route, path, api));
        }),
      );
    });
    const schedules = report
      .check(`beat dispatches schedule ${PROBE_SCHEDULE}`, async () => {
        const schedule = await waitUntil(`beat did not dispatch ${PROBE_SCHEDULE} and see its job complete`, timeoutMs, async () => {
          const view = await probeSchedule(api);
          const done = view?.last_kind === "cron" && view.last_dispatched_by === up.beat.id && view.last_jobs.length > 0 && view.last_jobs.every((job: { state: string }) => job.state === "completed");
          return done ? view : undefined;
        });
        return `fire time ${schedule.last_fire_time.slice(11, 19)} UTC dispatched ${ms(schedule.last_fire_time, schedule.last_dispatched_at)} late, job completed`;
      })
      .then(() =>
        report.check("schedule pause, trigger, resume via the API", async () => {
          const path = `/api/v1/schedules/${encodeURIComponent(PROBE_SCHEDULE)}`;
          const paused = await api.expect("POST", `${path}/pause`, 200);
          if (!paused.body.paused) throw new CheckFailed("pausing answered paused: false");
          const triggered = await api.expect("POST", `${path}/trigger`, 202);
          const [job] = triggered.body.jobs;
          await jobReaching(api, job.id, job.queue, ["completed"], timeoutMs);
          const view = await probeSchedule(api);
          if (!view?.paused || view.last_kind !== "trigger") throw new CheckFailed(`after pause and trigger the schedule shows paused: ${view?.paused}, last dispatch: ${view?.last_kind}`);
          const resumed = await api.expect("POST", `${path}/resume`, 200);
          if (resumed.body.paused || !resumed.body.was_paused) throw new CheckFailed("resuming did not report the schedule as paused before and running now");
          return "paused, triggered while paused (its job completed), resumed";
        }),
      );
    const revoke = report.check("revoke a running job", async () => {
      const { body } = await api.expect("POST", "/api/v1/tasks/llmctl.ping", 202, { args: { sleep_ms: REVOKED_SLEEP_MS }, targets: [defaultQueue] });
      const id: string = body.jobs[0].id;
      await jobReaching(api, id, defaultQueue, ["active"], timeoutMs);
      const revoked = await api.expect("POST", `/api/v1/jobs/${encodeURIComponent(id)}/revoke?queue=${encodeURIComponent(defaultQueue)}`, 200);
      if (revoked.body.outcome !== "aborting") throw new CheckFailed(`revoking a running job answered "${revoked.body.outcome}", expected "aborting"`);
      const job = await waitUntil(`the revoked job ${id} did not stop`, timeoutMs, async () => {
        const { body: detail } = await api.expect("GET", `/api/v1/jobs/${encodeURIComponent(id)}?queue=${encodeURIComponent(defaultQueue)}`, 200);
        return detail.state === "failed" ? detail : undefined;
      });
      if (!/revoked/.test(job.error?.message ?? "")) throw new CheckFailed(`the job failed, but not as revoked: ${job.error?.message}`);
      return `aborted after ${ms(job.started_at, job.finished_at)}: ${job.error.message}`;
    });
    await Promise.all([endpoints, schedules, revoke]);
  } finally {
    await up.close();
  }
}
