/**
 * The studio's live side: the event stream (QueueEvents and heartbeat diffs) on a private
 * redis-server and on the embedded store, /metrics, what happens while Redis is down, and the
 * start-up rules for tokens and addresses.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { Inspector } from "../../src/broker/inspector.ts";
import { waitForState } from "../../src/broker/job-control.ts";
import { parseConfig, type LoadedConfig } from "../../src/config/load.ts";
import { resolveRedisTarget } from "../../src/config/redis-target.ts";
import { BUILTIN_TASKS } from "../../src/tasks/builtin/index.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { UsageError } from "../../src/util/errors.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { start as startWorker } from "../../src/worker/index.ts";
import { resolveStudioToken } from "../../src/studio/auth.ts";
import { start, type StudioHandle } from "../../src/studio/index.ts";
import { loadedConfig } from "../helpers/config.ts";
import { tempDir } from "../helpers/files.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";
import { expectDocumented, openEventStream, studioClient } from "../helpers/studio.ts";

setDefaultTimeout(30_000);

const TOKEN = "live-test-token-0123456789";
const CONFIG = `
prefix: live
queues: [q1, q2]
worker: { heartbeat: 300ms, lock_duration: 2s, stalled_interval: 1s }
`;

function registryOf(loaded: LoadedConfig): TaskRegistry {
  return new TaskRegistry(BUILTIN_TASKS, loaded.config);
}

/** Follows one job through the event stream: enqueue it, expect added → active → completed for its id. */
async function followJobThroughEvents(studio: StudioHandle, token: string | undefined) {
  const api = studioClient(studio.url, token);
  const stream = await openEventStream(new URL("/api/v1/events", studio.url).href, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(stream.status).toBe(200);
  const snapshot = await stream.next((event) => event.event === "snapshot");
  expect(snapshot.data.queues.map((queue: { queue: string }) => queue.queue)).toEqual(["q1", "q2"]);
  expect(snapshot.data.workers).toHaveLength(1);
  const enqueued = await api("POST", "/api/v1/tasks/llmctl.ping", { body: { args: { sleep_ms: 100 }, targets: ["q2"] } });
  expect(enqueued.status).toBe(202);
  const id = enqueued.body.jobs[0].id;
  const added = await stream.next((event) => event.event === "job" && event.data.id === id && event.data.event === "added");
  expect(added.data).toMatchObject({ queue: "q2", task: "llmctl.ping" });
  await stream.next((event) => event.event === "job" && event.data.id === id && event.data.event === "active");
  await stream.next((event) => event.event === "job" && event.data.id === id && event.data.event === "completed");
  const counts = await stream.next((event) => event.event === "queues" && event.data.queues.some((queue: { queue: string; completed: number }) => queue.queue === "q2" && queue.completed === 1));
  expect(counts.data.queues.find((queue: { queue: string }) => queue.queue === "q2").jobs_per_min).toBe(1);
  await api("POST", "/api/v1/queues/q1/pause");
  expect((await stream.next((event) => event.event === "queue")).data).toMatchObject({ queue: "q1", event: "paused" });
  return stream;
}

describe("studio on a real Redis", () => {
  let redis: RedisServer;
  let studio: StudioHandle;
  let loaded: LoadedConfig;
  let broker: Broker;

  beforeAll(async () => {
    redis = await startRedisServer();
    loaded = loadedConfig(CONFIG, redis.url);
    broker = await openBroker(loaded, "live-test");
    studio = await start({ loaded, logger: silentLogger(), port: 0, token: TOKEN, workerPollMs: 100 });
  });
  afterEach(async () => {
    await broker.connection.flushdb();
  });
  afterAll(async () => {
    await studio.close();
    await broker.close();
    await redis.stop();
  });

  it("streams job, queue and worker changes as server-sent events", async () => {
    const worker = await startWorker({ loaded, registry: registryOf(loaded), logger: silentLogger(), concurrency: 1, graceMs: 1000 });
    const stream = await followJobThroughEvents(studio, TOKEN);
    const update = await stream.next((event) => event.event === "worker" && event.data.change === "update");
    expect(update.data.worker.id).toBe(worker.id);
    await worker.close();
    const down = await stream.next((event) => event.event === "worker" && event.data.change === "down");
    expect(down.data.worker.id).toBe(worker.id);
    stream.close();
    await studioClient(studio.url, TOKEN)("POST", "/api/v1/queues/q1/resume");
  });

  it("refuses the event stream without the token", async () => {
    const stream = await openEventStream(new URL("/api/v1/events", studio.url).href);
    expect(stream.status).toBe(401);
  });

  it("exports jobs by queue and state, run time per task, worker slots and Redis up on /metrics", async () => {
    const worker = await startWorker({ loaded, registry: registryOf(loaded), logger: silentLogger(), concurrency: 3, graceMs: 1000 });
    try {
      const api = studioClient(studio.url, TOKEN);
      const { body } = await api("POST", "/api/v1/tasks/shell", { body: { args: { argv: ["sleep", "0.1"] } } });
      await waitForState(await new Inspector(broker).findJob(body.jobs[0].id), ["completed"], 10_000);
      let text = "";
      const deadline = Date.now() + 5000;
      while (!/llmctl_task_duration_seconds_count\{task="shell",outcome="completed"\} [1-9]/.test(text) && Date.now() < deadline) {
        await Bun.sleep(100);
        text = (await api("GET", "/metrics", { token: null })).body;
      }
      expect(text).toContain('llmctl_task_duration_seconds_count{task="shell",outcome="completed"} 1');
      expect(text).toContain('llmctl_task_duration_seconds_bucket{le="0.05",task="shell",outcome="completed"} 0');
      expect(text).toContain('llmctl_task_duration_seconds_bucket{le="0.5",task="shell",outcome="completed"} 1');
      expect(text).toContain('llmctl_queue_jobs{queue="q1",state="completed"} 1');
      expect(text).toContain('llmctl_queue_jobs{queue="q2",state="waiting"} 0');
      expect(text).toContain(`llmctl_worker_slots{worker="${worker.id}",hostname=`);
      expect(text).toMatch(/llmctl_worker_slots_in_use\{worker="[^"]+",hostname="[^"]+"\} 0/);
      expect(text).toContain("llmctl_workers 1");
      expect(text).toContain("llmctl_redis_up 1");
    } finally {
      await worker.close();
    }
  });
});

describe("studio on the embedded store (one process with a worker, as llmctl up runs it)", () => {
  it("enqueues, streams events and shows the job completed", async () => {
    const { config } = parseConfig(CONFIG, "embedded.yaml");
    const loaded: LoadedConfig = { source: "--config", config, redis: resolveRedisTarget({ env: {}, flagUrl: "embedded" }), warnings: [] };
    const broker = await openBroker(loaded, "embedded-up");
    const registry = registryOf(loaded);
    const worker = await startWorker({ loaded, registry, broker, logger: silentLogger(), concurrency: 1, graceMs: 1000 });
    const studio = await start({ loaded, registry, broker, logger: silentLogger(), port: 0, workerPollMs: 100 });
    try {
      const stream = await followJobThroughEvents(studio, undefined);
      stream.close();
      const jobs = await studioClient(studio.url)("GET", "/api/v1/jobs?state=completed");
      expectDocumented("GET", "/api/v1/jobs", jobs);
      expect(jobs.body.jobs.map((job: { task: string; queue: string }) => [job.task, job.queue])).toEqual([["llmctl.ping", "q2"]]);
    } finally {
      await studio.close();
      await worker.close();
      await broker.close();
    }
  });
});

describe("studio while Redis is down", () => {
  it("answers 503 for what needs Redis, still refuses bad input with 400, and reports it on /readyz and /metrics", async () => {
    const redis = await startRedisServer();
    const loaded = loadedConfig(CONFIG, redis.url);
    const studio = await start({ loaded, logger: silentLogger(), port: 0, token: TOKEN });
    const api = studioClient(studio.url, TOKEN);
    try {
      expect((await api("GET", "/readyz")).status).toBe(200);
      await redis.stop();
      const deadline = Date.now() + 5000;
      while ((await api("GET", "/readyz")).status !== 503 && Date.now() < deadline) await Bun.sleep(50);
      const ready = await api("GET", "/readyz");
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ status: "not ready", redis: "disconnected" });
      for (const [method, path, body] of [["GET", "/api/v1/queues"], ["GET", "/api/v1/jobs"], ["GET", "/api/v1/jobs/x"], ["POST", "/api/v1/tasks/llmctl.ping", {}], ["POST", "/api/v1/queues/q1/pause"]] as const) {
        const reply = await api(method, path, { body });
        expect(reply.status).toBe(503);
        expect(reply.body.error).toMatchObject({ code: "redis_unavailable", message: "Redis is not reachable right now; nothing was changed" });
        expectDocumented(method, path, reply);
      }
      const invalid = await api("POST", "/api/v1/tasks/llmctl.ping", { body: { args: { sleep_ms: "x" } } });
      expect(invalid.status).toBe(400);
      expect((await api("GET", "/api/v1/tasks")).status).toBe(200);
      expect((await api("GET", "/healthz")).status).toBe(200);
      const metrics = await api("GET", "/metrics");
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain("llmctl_redis_up 0");
    } finally {
      await studio.close();
    }
  });
});

describe("studio start-up rules", () => {
  const files = tempDir();
  afterAll(() => files.cleanup());
  const loaded = () => loadedConfig(CONFIG, "redis://127.0.0.1:1/0");

  it("refuses a non-loopback address without a token unless --insecure, and says why", async () => {
    const attempt = start({ loaded: loaded(), logger: silentLogger(), host: "0.0.0.0", port: 0, env: {} });
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow("refusing to serve the studio on 0.0.0.0 without a token: anyone who can reach it could enqueue, retry and revoke jobs");
    // With --insecure (or a token) the address check passes; this config's Redis then refuses the connection.
    await expect(start({ loaded: loaded(), logger: silentLogger(), host: "0.0.0.0", port: 0, env: {}, insecure: true })).rejects.toThrow("connection refused");
    await expect(start({ loaded: loaded(), logger: silentLogger(), host: "0.0.0.0", port: 0, env: { LLMCTL_STUDIO_TOKEN: TOKEN } })).rejects.toThrow("connection refused");
  });

  it("takes the token from the caller, --token-file, LLMCTL_STUDIO_TOKEN, then studio.token_file, in that order", () => {
    const flagFile = files.file("flag-token", "from-flag\n");
    files.file("config-token", "from-config\n");
    const { config } = parseConfig(`queues: [q]\nstudio: { token_file: config-token }\n`, "x.yaml");
    const configPath = `${files.dir}/llmctl.yaml`;
    const env = { LLMCTL_STUDIO_TOKEN: "from-env" };
    expect(resolveStudioToken({ token: "given", tokenFile: flagFile, env, config, configPath })).toEqual({ token: "given", origin: "given" });
    expect(resolveStudioToken({ tokenFile: flagFile, env, config, configPath })).toEqual({ token: "from-flag", origin: "--token-file" });
    expect(resolveStudioToken({ env, config, configPath })).toEqual({ token: "from-env", origin: "LLMCTL_STUDIO_TOKEN" });
    expect(resolveStudioToken({ env: {}, config, configPath })).toEqual({ token: "from-config", origin: "studio.token_file" });
    expect(resolveStudioToken({ env: {}, config: parseConfig("queues: [q]\n", "x.yaml").config })).toEqual({ origin: "none" });
  });

  it("refuses an empty or missing token file with the path named", () => {
    const { config } = parseConfig("queues: [q]\n", "x.yaml");
    const empty = files.file("empty-token", "  \n");
    expect(() => resolveStudioToken({ tokenFile: empty, env: {}, config })).toThrow(`studio token file ${empty} (--token-file) is empty`);
    expect(() => resolveStudioToken({ tokenFile: `${files.dir}/missing`, env: {}, config })).toThrow(/cannot be read: ENOENT/);
  });

  it("lets reads through without a token when studio.public_read is true, never changes", async () => {
    const redis = await startRedisServer();
    const publicLoaded = loadedConfig(`${CONFIG}studio: { public_read: true }\n`, redis.url);
    const studio = await start({ loaded: publicLoaded, logger: silentLogger(), port: 0, token: TOKEN });
    try {
      const api = studioClient(studio.url);
      expect((await api("GET", "/api/v1/queues")).status).toBe(200);
      expect((await api("GET", "/api/v1/session")).body).toEqual({ auth_required: true, public_read: true, authenticated: false });
      const stream = await openEventStream(new URL("/api/v1/events", studio.url).href);
      expect(stream.status).toBe(200);
      stream.close();
      expect((await api("POST", "/api/v1/tasks/llmctl.ping", { body: {} })).status).toBe(401);
      expect((await api("POST", "/api/v1/queues/q1/pause")).status).toBe(401);
    } finally {
      await studio.close();
      await redis.stop();
    }
  });
});
