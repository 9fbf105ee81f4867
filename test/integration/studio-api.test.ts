/**
 * The studio's JSON API, started in-process with start() against a private redis-server and a
 * worker of the same process: reads, enqueue, retry, revoke, pause, auth, and every kind of bad
 * input answered with the right status and message while nothing changes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { Inspector } from "../../src/broker/inspector.ts";
import { waitForState } from "../../src/broker/job-control.ts";
import { BUILTIN_TASKS } from "../../src/tasks/builtin/index.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { start as startWorker, type WorkerHandle } from "../../src/worker/index.ts";
import { start, type StudioHandle } from "../../src/studio/index.ts";
import { API_ROUTES } from "../../src/studio/api.ts";
import { loadedConfig } from "../helpers/config.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";
import { expectDocumented, studioClient, type ApiReply } from "../helpers/studio.ts";

setDefaultTimeout(30_000);

const TOKEN = "studio-test-token-0123456789";
const CONFIG = `
prefix: st
queues: [q1, q2, q3]
workers:
  web: { hostnames: [w1, w2], queue: web_q }
worker: { heartbeat: 300ms, lock_duration: 2s, stalled_interval: 1s }
studio: { max_body: 4KiB }
`;

let redis: RedisServer;
let broker: Broker;
let studio: StudioHandle;
let worker: WorkerHandle | undefined;
let api: ReturnType<typeof studioClient>;

beforeAll(async () => {
  redis = await startRedisServer();
  const loaded = loadedConfig(CONFIG, redis.url);
  broker = await openBroker(loaded, "studio-api-test");
  studio = await start({ loaded, logger: silentLogger(), port: 0, env: { LLMCTL_STUDIO_TOKEN: TOKEN }, workerPollMs: 200 });
  api = studioClient(studio.url, TOKEN);
});
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await broker.connection.flushdb();
});
afterAll(async () => {
  await studio.close();
  await broker.close();
  await redis.stop();
});

async function call(method: string, path: string, request: Parameters<typeof api>[2] = {}): Promise<ApiReply> {
  const reply = await api(method, path, request);
  expectDocumented(method, path, reply);
  return reply;
}

async function runWorker(): Promise<WorkerHandle> {
  const loaded = loadedConfig(CONFIG, redis.url);
  worker = await startWorker({ loaded, registry: new TaskRegistry(BUILTIN_TASKS, loaded.config), logger: silentLogger(), concurrency: 2, graceMs: 2000, queues: "all" });
  return worker;
}

/** Every job in every state of every queue, and every paused queue: what "nothing changed" compares. */
async function everything(): Promise<{ jobs: number; paused: string[]; keys: number }> {
  const counts = await new Inspector(broker).queueCounts();
  return {
    jobs: counts.reduce((sum, queue) => sum + queue.waiting + queue.active + queue.delayed + queue.failed + queue.completed, 0),
    paused: counts.filter((queue) => queue.paused).map((queue) => queue.queue),
    keys: await broker.connection.dbsize(),
  };
}

describe("studio API: reads", () => {
  it("lists queues with counts, paused flag, jobs per minute and a 30-minute throughput series", async () => {
    await call("POST", "/api/v1/tasks/llmctl.ping", { body: { targets: ["q2"] } });
    const reply = await call("GET", "/api/v1/queues");
    expect(reply.status).toBe(200);
    expect(reply.body.queues.map((queue: { queue: string }) => queue.queue)).toEqual(["q1", "q2", "q3", "web_q", "web_q.w1", "web_q.w2"]);
    expect(reply.body.queues[1]).toMatchObject({ queue: "q2", waiting: 1, paused: false, jobs_per_min: 0 });
    expect(reply.body.queues[1].throughput).toHaveLength(30);
  });

  it("lists live workers from their heartbeats", async () => {
    expect((await call("GET", "/api/v1/workers")).body.workers).toEqual([]);
    const handle = await runWorker();
    const { body } = await call("GET", "/api/v1/workers");
    expect(body.workers).toHaveLength(1);
    expect(body.workers[0]).toMatchObject({ id: handle.id, concurrency: 2, slots_in_use: 0, queues: handle.queues });
  });

  it("lists tasks with the JSON Schema of their arguments", async () => {
    const { body } = await call("GET", "/api/v1/tasks");
    const shell = body.tasks.find((task: { name: string }) => task.name === "shell");
    expect(shell.args_schema.properties.argv).toMatchObject({ type: "array", items: { type: "string" }, minItems: 1 });
    expect(shell.args_schema.required).toEqual(["argv"]);
    expect(body.tasks.map((task: { name: string }) => task.name)).toContain("llmctl.ping");
  });

  it("pages through jobs with an opaque cursor, filtered by queue, state and task", async () => {
    for (let i = 0; i < 5; i++) await call("POST", "/api/v1/tasks/llmctl.ping", { body: {} });
    await call("POST", "/api/v1/tasks/shell", { body: { args: { argv: ["true"] }, targets: ["q3"] } });
    const first = await call("GET", "/api/v1/jobs?limit=4");
    expect(first.body.jobs).toHaveLength(4);
    const second = await call("GET", `/api/v1/jobs?limit=4&cursor=${first.body.next_cursor}`);
    expect(second.body.jobs).toHaveLength(2);
    expect(second.body.next_cursor).toBeNull();
    const ids = [...first.body.jobs, ...second.body.jobs].map((job: { id: string }) => job.id);
    expect(new Set(ids).size).toBe(6);
    const shell = await call("GET", "/api/v1/jobs?task=shell&state=waiting");
    expect(shell.body.jobs.map((job: { queue: string; task: string }) => [job.queue, job.task])).toEqual([["q3", "shell"]]);
    expect((await call("GET", "/api/v1/jobs?queue=q2")).body).toEqual({ jobs: [], next_cursor: null });
  });
});

describe("studio API: actions", () => {
  it("enqueues from args, targets and delay, answering 202 with one job per host of a role", async () => {
    const fanOut = await call("POST", "/api/v1/tasks/llmctl.ping", { body: { args: {}, targets: ["web"] } });
    expect(fanOut.status).toBe(202);
    expect(fanOut.body.jobs.map((job: { queue: string; hostname: string }) => [job.queue, job.hostname])).toEqual([["web_q.w1", "w1"], ["web_q.w2", "w2"]]);
    const delayed = await call("POST", "/api/v1/tasks/llmctl.ping", { body: { delay: "1h" } });
    const detail = await call("GET", `/api/v1/jobs/${delayed.body.jobs[0].id}`);
    expect(detail.body).toMatchObject({ state: "delayed", task: "llmctl.ping", queue: "q1", meta: { source: "studio" }, logs: [] });
    expect(Date.parse(detail.body.delay_until) - Date.now()).toBeGreaterThan(3_500_000);
  });

  it("shows a completed job's result and a failed job's error with its stack", async () => {
    await runWorker();
    const ok = await call("POST", "/api/v1/tasks/llmctl.ping", { body: {} });
    const bad = await call("POST", "/api/v1/tasks/shell", { body: { args: { argv: ["/bin/sh", "-c", "echo out; echo oops >&2; exit 3"] } } });
    const inspector = new Inspector(broker);
    await waitForState(await inspector.findJob(ok.body.jobs[0].id), ["completed"], 10_000);
    await waitForState(await inspector.findJob(bad.body.jobs[0].id), ["failed"], 10_000);
    const completed = await call("GET", `/api/v1/jobs/${ok.body.jobs[0].id}`);
    expect(completed.body).toMatchObject({ state: "completed", error: null, attempts_made: 1 });
    expect(completed.body.result.queue).toBe("q1");
    expect(completed.body.worker).toBe(worker!.id);
    const failed = await call("GET", `/api/v1/jobs/${bad.body.jobs[0].id}`);
    expect(failed.body.state).toBe("failed");
    expect(failed.body.error.message).toContain("exited with code 3: oops");
    expect(failed.body.error.stack).toContain("RuntimeError");
    expect(failed.body.logs).toEqual(["stdout: out", "stderr: oops"]);
  });

  it("retries a failed job and refuses to retry a waiting one with 409", async () => {
    await runWorker();
    const bad = await call("POST", "/api/v1/tasks/shell", { body: { args: { argv: ["/bin/false"] } } });
    const id = bad.body.jobs[0].id;
    await waitForState(await new Inspector(broker).findJob(id), ["failed"], 10_000);
    const retried = await call("POST", `/api/v1/jobs/${id}/retry`);
    expect(retried.body).toEqual({ id, queue: "q1", previous_state: "failed" });
    await worker!.close();
    worker = undefined;
    const waiting = await call("POST", "/api/v1/tasks/llmctl.ping", { body: {} });
    const conflict = await call("POST", `/api/v1/jobs/${waiting.body.jobs[0].id}/retry`);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: "conflict", message: expect.stringContaining("is waiting; only failed or completed jobs can be retried") });
  });

  it("revokes a waiting job by removing it, and a running one by aborting it", async () => {
    const waiting = await call("POST", "/api/v1/tasks/llmctl.ping", { body: {} });
    const removed = await call("POST", `/api/v1/jobs/${waiting.body.jobs[0].id}/revoke`);
    expect(removed.body).toMatchObject({ outcome: "removed", previous_state: "waiting" });
    expect((await call("GET", `/api/v1/jobs/${waiting.body.jobs[0].id}`)).status).toBe(404);

    await runWorker();
    const running = await call("POST", "/api/v1/tasks/shell", { body: { args: { argv: ["sleep", "30"] } } });
    const id = running.body.jobs[0].id;
    const job = await new Inspector(broker).findJob(id);
    expect(await waitForState(job, ["active"], 10_000)).toBe("active");
    const aborting = await call("POST", `/api/v1/jobs/${id}/revoke`);
    expect(aborting.body).toMatchObject({ outcome: "aborting", previous_state: "active" });
    expect(await waitForState(job, ["failed"], 5_000)).toBe("failed");
    expect((await call("GET", `/api/v1/jobs/${id}`)).body.error.message).toContain("revoked");
  });

  it("pauses and resumes a queue", async () => {
    const paused = await call("POST", "/api/v1/queues/q2/pause");
    expect(paused.body).toEqual({ queue: "q2", paused: true, was_paused: false });
    expect((await call("GET", "/api/v1/queues")).body.queues.find((queue: { queue: string }) => queue.queue === "q2").paused).toBe(true);
    expect((await call("POST", "/api/v1/queues/q2/resume")).body).toEqual({ queue: "q2", paused: false, was_paused: true });
  });
});

describe("studio API: auth", () => {
  it("answers 401 without a token or with a wrong one, on reads and changes, and changes nothing", async () => {
    const before = await everything();
    for (const [method, path] of [["GET", "/api/v1/queues"], ["GET", "/api/v1/jobs"], ["GET", "/api/v1/events"], ["POST", "/api/v1/tasks/llmctl.ping"], ["POST", "/api/v1/queues/q1/pause"]] as const) {
      const missing = await call(method, path, { token: null, body: method === "POST" ? {} : undefined });
      expect(missing.status).toBe(401);
      expect(missing.body.error).toMatchObject({ code: "unauthorized", message: "this endpoint needs the studio token" });
      expect(missing.headers.get("www-authenticate")).toStartWith("Bearer");
      const wrong = await call(method, path, { token: `${TOKEN}x`, body: method === "POST" ? {} : undefined });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.message).toBe("the token is not valid");
    }
    expect((await call("GET", "/api/v1/queues", { headers: { authorization: "Basic Zm9vOmJhcg==" }, token: null })).status).toBe(401);
    expect(await everything()).toEqual(before);
  });

  it("serves probes, metrics, the OpenAPI document and the session state without a token", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/api/v1/session"]) {
      expect((await call("GET", path, { token: null })).status).toBe(200);
    }
    expect((await call("GET", "/api/v1/session", { token: null })).body).toEqual({ auth_required: true, public_read: false, authenticated: false });
  });

  it("signs the dashboard in with an HttpOnly cookie; changes with the cookie need the dashboard's header", async () => {
    const wrong = await call("POST", "/api/v1/session", { token: null, body: { token: "nope" } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.field).toBe("token");
    expect(wrong.headers.get("set-cookie")).toBeNull();

    const signIn = await call("POST", "/api/v1/session", { token: null, body: { token: TOKEN } });
    const cookie = signIn.headers.get("set-cookie")!;
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(";")[0]!;
    expect((await call("GET", "/api/v1/session", { token: null, headers: { cookie: session } })).body.authenticated).toBe(true);
    expect((await call("GET", "/api/v1/queues", { token: null, headers: { cookie: session } })).status).toBe(200);

    const before = await everything();
    const forged = await call("POST", "/api/v1/tasks/llmctl.ping", { token: null, headers: { cookie: session }, body: {} });
    expect(forged.status).toBe(403);
    expect(forged.body.error.message).toContain("x-requested-by: llmctl-studio");
    expect(await everything()).toEqual(before);
    const dashboard = await call("POST", "/api/v1/tasks/llmctl.ping", { token: null, headers: { cookie: session, "x-requested-by": "llmctl-studio" }, body: {} });
    expect(dashboard.status).toBe(202);
    expect((await call("GET", "/api/v1/queues", { token: null, headers: { cookie: `${session}x` } })).status).toBe(401);

    const signOut = await call("DELETE", "/api/v1/session", { token: null, headers: { cookie: session } });
    expect(signOut.headers.get("set-cookie")).toContain("Max-Age=0");
  });
});

describe("studio API: bad input is refused with the right status and message, and changes nothing", () => {
  const cases: Array<{ name: string; method: string; path: string; request?: Parameters<typeof api>[2]; status: number; code: string; message: string | RegExp; field?: string }> = [
    { name: "malformed JSON", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { raw: '{"args": {', headers: { "content-type": "application/json" } }, status: 400, code: "invalid_json", message: /^request body is not valid JSON/ },
    { name: "a body that is not an object", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: [1, 2] }, status: 400, code: "invalid_request", message: /^body: expected object/, field: "body" },
    { name: "an argument of the wrong type", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: { args: { sleep_ms: "soon" } } }, status: 400, code: "invalid_request", message: "invalid arguments for llmctl.ping: sleep_ms: expected number, received string", field: "args.sleep_ms" },
    { name: "a missing required argument", method: "POST", path: "/api/v1/tasks/shell", request: { body: { args: {} } }, status: 400, code: "invalid_request", message: "invalid arguments for shell: argv: required", field: "args.argv" },
    { name: "an unknown argument", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: { args: { bogus: 1 } } }, status: 400, code: "invalid_request", message: /bogus: unknown argument/, field: "args.bogus" },
    { name: "args that are not an object", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: { args: "x" } }, status: 400, code: "invalid_request", message: /^args: expected record/, field: "args" },
    { name: "targets that are not a list", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: { targets: "web" } }, status: 400, code: "invalid_request", message: /^targets: expected array/, field: "targets" },
    { name: "a delay that is no duration", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: { delay: "soon" } }, status: 400, code: "invalid_request", message: /^delay: /, field: "delay" },
    { name: "a priority out of range", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: { priority: 0 } }, status: 400, code: "invalid_request", message: /^priority: /, field: "priority" },
    { name: "an unknown field", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: { argz: {} } }, status: 400, code: "invalid_request", message: "argz: unknown field", field: "argz" },
    { name: "an unknown task", method: "POST", path: "/api/v1/tasks/llmctl.pong", request: { body: {} }, status: 404, code: "not_found", message: 'unknown task "llmctl.pong" (did you mean "llmctl.ping"?)' },
    { name: "an unknown target", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: { targets: ["web", "wbe"] } }, status: 400, code: "invalid_request", message: /target "wbe" names no role or queue/, field: "targets[1]" },
    { name: "a body over studio.max_body", method: "POST", path: "/api/v1/tasks/llmctl.ping", request: { body: { args: { pad: "x".repeat(5000) } } }, status: 413, code: "payload_too_large", message: "request body is larger than 4 KiB (studio.max_body)" },
    { name: "a bad cursor", method: "GET", path: "/api/v1/jobs?cursor=bm90LWEtY3Vyc29y", status: 400, code: "invalid_request", message: /^cursor is not valid/, field: "cursor" },
    { name: "an unknown query parameter", method: "GET", path: "/api/v1/jobs?stat=failed", status: 400, code: "invalid_request", message: "stat: unknown parameter", field: "stat" },
    { name: "an unknown state", method: "GET", path: "/api/v1/jobs?state=done", status: 400, code: "invalid_request", message: /^state: /, field: "state" },
    { name: "a page size out of range", method: "GET", path: "/api/v1/jobs?limit=0", status: 400, code: "invalid_request", message: /^limit: /, field: "limit" },
    { name: "an unknown queue filter", method: "GET", path: "/api/v1/jobs?queue=q9", status: 400, code: "invalid_request", message: /^queue: unknown queue "q9"/, field: "queue" },
    { name: "an unknown job id", method: "GET", path: "/api/v1/jobs/no-such-job", status: 404, code: "not_found", message: 'no job with id "no-such-job" in any queue' },
    { name: "retrying an unknown job", method: "POST", path: "/api/v1/jobs/no-such-job/retry", status: 404, code: "not_found", message: /no job with id/ },
    { name: "revoking an unknown job", method: "POST", path: "/api/v1/jobs/no-such-job/revoke", status: 404, code: "not_found", message: /no job with id/ },
    { name: "pausing an unknown queue", method: "POST", path: "/api/v1/queues/q9/pause", status: 404, code: "not_found", message: /^unknown queue "q9"/ },
    { name: "path traversal in a job id", method: "GET", path: "/api/v1/jobs/..%2F..%2Fetc%2Fpasswd", status: 400, code: "invalid_request", message: /^id: job ids use/, field: "id" },
    { name: "path traversal in a revoked job id", method: "POST", path: "/api/v1/jobs/..%2Fq1%2Fx/revoke", status: 400, code: "invalid_request", message: /^id: /, field: "id" },
    { name: "a slash in a job id", method: "POST", path: "/api/v1/jobs/a%2Fb/retry", status: 400, code: "invalid_request", message: /^id: /, field: "id" },
    { name: "path traversal in a queue name", method: "POST", path: "/api/v1/queues/..%2F..%2Fq1/pause", status: 400, code: "invalid_request", message: /^name: queue names use/, field: "name" },
    { name: "path traversal in a task name", method: "POST", path: "/api/v1/tasks/..%2Fshell", request: { body: {} }, status: 400, code: "invalid_request", message: /^name: task names use/, field: "name" },
    { name: "a job id with a queue that does not exist", method: "GET", path: "/api/v1/jobs/x?queue=..", status: 400, code: "invalid_request", message: /^queue: /, field: "queue" },
  ];

  it.each(cases)("$name → $status", async ({ method, path, request, status, code, message, field }) => {
    const before = await everything();
    const reply = await call(method, path, request);
    expect(reply.status).toBe(status);
    expect(reply.body.error.code).toBe(code);
    if (typeof message === "string") expect(reply.body.error.message).toBe(message);
    else expect(reply.body.error.message).toMatch(message);
    if (field) expect(reply.body.error.field).toBe(field);
    expect(await everything()).toEqual(before);
  });

  it("cuts off a streamed body without Content-Length at studio.max_body", async () => {
    const before = await everything();
    const chunk = new TextEncoder().encode(`{"args":{"pad":"${"x".repeat(1000)}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 10) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const reply = await call("POST", "/api/v1/tasks/llmctl.ping", { raw: stream });
    expect(reply.status).toBe(413);
    expect(await everything()).toEqual(before);
  });

  it("answers 405 for a known path with another method, and a JSON 404 for unknown paths", async () => {
    const wrongMethod = await api("DELETE", "/api/v1/queues");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET");
    const unknown = await api("GET", "/api/v1/nothing");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: "not_found", message: "no such path: /api/v1/nothing" });
    expect((await api("GET", "/api/v1/jobs/%2e%2e/%2e%2e/etc/passwd")).status).toBe(404);
  });
});

describe("studio API: the route table", () => {
  it("documents every route in the OpenAPI document served at /api/v1/openapi.json", async () => {
    const { body } = await call("GET", "/api/v1/openapi.json", { token: null });
    expect(body.openapi).toBe("3.1.0");
    for (const route of API_ROUTES) {
      const operation = body.paths[route.path][route.method.toLowerCase()];
      expect(operation.operationId).toBe(route.operationId);
      const declared = (operation.parameters as Array<{ name: string; in: string }>).filter((parameter) => parameter.in === "path").map((parameter) => parameter.name);
      expect(declared.sort()).toEqual([...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!).sort());
      expect(Object.keys(operation.responses)).toContain(String(route.response.status));
      if (route.access !== "public") expect(Object.keys(operation.responses)).toContain("401");
    }
    expect(body.paths["/api/v1/tasks/{name}"].post.requestBody.content["application/json"].schema.properties.args).toBeDefined();
    expect(new Set(API_ROUTES.map((route) => route.operationId)).size).toBe(API_ROUTES.length);
  });
});
