/**
 * The worker as deployed: dist/llmctl processes against a private redis-server, killed and
 * signalled the way Kubernetes and operators do it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { Inspector } from "../../src/broker/inspector.ts";
import { Producer } from "../../src/broker/producer.ts";
import { loadTaskRegistry } from "../../src/tasks/load.ts";
import { waitForJobs } from "../../src/broker/job-waiter.ts";
import { ensureBinary, llmctl } from "../helpers/cli.ts";
import { loadedConfig } from "../helpers/config.ts";
import { tempDir } from "../helpers/files.ts";
import { startRole, type RoleProcess } from "../helpers/processes.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

// Real servers and processes: five seconds (the default) is too short on a loaded machine.
setDefaultTimeout(30_000);

const files = tempDir();
const workspaces = join(files.dir, "workspaces");
mkdirSync(workspaces);
mkdirSync(join(files.dir, "tasks"));
writeFileSync(
  join(files.dir, "tasks", "busy.ts"),
  `import { defineTask, z } from "llmctl";
import { appendFileSync } from "node:fs";


// Blocks the event loop, as CPU-bound or synchronous code does.
export default defineTask({
  name: "e2e.busy",
  args: z.strictObject({ file: z.string(), ms: z.number() }),
  handler({ args, job }) {
    appendFileSync(args.file, job.id + " start\\n");
    const end = Date.now() + args.ms;
    while (Date.now() < end) {}
    appendFileSync(args.file, job.id + " end\\n");
    return "done";
  },
});
`,
);
const CONFIG = `prefix: e2e
queues: [llmctl_studio, llmctl_studio.downloads.huggingface, llmctl_studio.rag.index, llmctl_studio.rag.drive, llmctl_studio.rag.git]
routes:
  rag.worker.tasks.run_index_task: llmctl_studio.rag.index
workers:
  webserver: { hostnames: [web01, web02], queue: webserver_tasks }
worker: { heartbeat: 500ms, lock_duration: 2s, stalled_interval: 1s, grace: 10s }
workspaces: { root: ${workspaces}, max_age: 1d }
tasks_dir: ./tasks
tasks:
  greet:
    kind: command
    command: ["/bin/echo", "hello", "{name}"]
    args: { name: { type: string, required: true, pattern: "[a-z]+" } }
`;
const configPath = files.file("llmctl.yaml", CONFIG);

let redis: RedisServer;
let broker: Broker;
let producer: Producer;
const roles: RoleProcess[] = [];

function env(): Record<string, string> {
  return { LLMCTL_REDIS_URL: redis.url, LLMCTL_CONFIG: configPath };
}

async function startWorker(...args: string[]): Promise<RoleProcess> {
  const worker = startRole(["worker", ...args], env());
  roles.push(worker);
  await worker.waitForLog("worker started");
  return worker;
}

beforeAll(async () => {
  ensureBinary();
  redis = await startRedisServer();
  const loaded = loadedConfig(CONFIG, redis.url);
  broker = await openBroker(loaded, "e2e-test");
  producer = new Producer(broker, await loadTaskRegistry(loaded.config, { configPath }));
}, 120_000);
afterEach(async () => {
  await Promise.all(roles.splice(0).map((role) => role.stop()));
  await broker.connection.flushdb();
});
afterAll(async () => {
  await broker.close();
  await redis.stop();
  files.cleanup();
});

async function activeJobs(): Promise<number> {
  const counts = await new Inspector(broker).queueCounts();
  return counts.reduce((sum, queue) => sum + queue.active, 0);
}

describe("llmctl worker (compiled binary, real Redis)", () => {
  it("two processes with --concurrency 2 consume all five contract queues, at most 4 jobs at once", async () => {
    await Promise.all([startWorker("--queues", "all", "--concurrency", "2"), startWorker("--queues", "all", "--concurrency", "2")]);
    const queues = broker.config.queues;
    const jobs = [];
    for (let i = 0; i < 12; i++) jobs.push(...(await producer.enqueue("llmctl.ping", { sleep_ms: 700 }, { targets: [queues[i % 5]!] })));
    let peak = 0;
    const sampling = (async () => {
      for (let i = 0; i < 60; i++) {
        peak = Math.max(peak, await activeJobs());
        await Bun.sleep(50);
      }
    })();
    const outcomes = await waitForJobs(broker, jobs, { timeoutMs: 20_000 });
    await sampling;
    expect(outcomes.every((outcome) => outcome.state === "completed")).toBe(true);
    expect(new Set(outcomes.map((outcome) => outcome.job.queue)).size).toBe(5);
    expect(peak).toBe(4);
  });

  it("runs services.tasks.cleanup_workspaces from `llmctl task --wait` and prints the result", async () => {
    await startWorker();
    const stale = join(workspaces, "stale");
    mkdirSync(stale);
    const old = new Date(Date.now() - 3 * 86_400_000);
    utimesSync(stale, old, old);
    const result = await llmctl(["task", "services.tasks.cleanup_workspaces", "--wait"], { env: env() });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("completed");
    expect(result.stdout).toContain('"removed":1');
  });

  it("loses no job when a worker is killed with SIGKILL mid-job", async () => {
    const first = await startWorker("--queues", "llmctl_studio");
    const [job] = await producer.enqueue("llmctl.ping", { sleep_ms: 2500 });
    await Bun.sleep(500);
    expect(await activeJobs()).toBe(1);
    first.signal("SIGKILL");
    await first.exited;
    await startWorker("--queues", "llmctl_studio");
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 15_000 });
    expect(outcome?.state).toBe("completed");
  });

  it("drains on SIGTERM: the running job finishes, then the process exits 0", async () => {
    const worker = await startWorker();
    const [job] = await producer.enqueue("llmctl.ping", { sleep_ms: 1000 });
    await Bun.sleep(300);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 1000 });
    expect(outcome?.state).toBe("completed");
  });

  it("returns a job still running when --grace ends to its queue, and a second signal exits at once", async () => {
    const worker = await startWorker("--grace", "300ms");
    const [job] = await producer.enqueue("llmctl.ping", { sleep_ms: 20_000 });
    await Bun.sleep(400);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
    const stored = await new Inspector(broker).findJob(job!.id);
    expect(await stored.getState()).toBe("waiting");

    const stubborn = await startWorker("--grace", "30s");
    await Bun.sleep(500);
    stubborn.signal("SIGTERM");
    await Bun.sleep(200);
    stubborn.signal("SIGTERM");
    expect(await stubborn.exited).toBe(143);
  });

  it("revokes a running shell job within a second, killing its process group", async () => {
    await startWorker();
    const pidFile = join(files.dir, "revoke.pid");
    const [job] = await producer.enqueue("shell", { argv: ["/bin/sh", "-c", `sleep 30 & echo $! > ${pidFile}; wait`] });
    for (let i = 0; i < 50 && !(await Bun.file(pidFile).exists()); i++) await Bun.sleep(50);
    const started = Date.now();
    const result = await llmctl(["job", "revoke", job!.id], { env: env() });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("its worker stopped it (now failed)");
    expect(Date.now() - started).toBeLessThan(1500);
    const show = await llmctl(["job", "show", job!.id, "--json"], { env: env() });
    expect(JSON.parse(show.stdout)).toMatchObject({ state: "failed", error: { message: "revoked" } });
    const pid = Number(readFileSync(pidFile, "utf8"));
    await Bun.sleep(200);
    const stat = (() => {
      try {
        return readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2];
      } catch {
        return "gone";
      }
    })();
    expect(stat === "gone" || stat === "Z").toBe(true);
  });

  it("honours a revocation recorded while the job's worker was dead", async () => {
    const first = await startWorker("--queues", "llmctl_studio");
    const [job] = await producer.enqueue("llmctl.ping", { sleep_ms: 10_000 });
    await Bun.sleep(400);
    first.signal("SIGKILL");
    await first.exited;
    const revoked = await llmctl(["job", "revoke", job!.id], { env: env() });
    expect(revoked.stdout).toContain("revocation recorded");
    await startWorker("--queues", "llmctl_studio");
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 15_000 });
    expect(outcome).toMatchObject({ state: "failed", error: "revoked" });
  });

  it("keeps the lock of a job whose handler blocks the event loop, so it runs once", async () => {
    await Promise.all([startWorker("--queues", "llmctl_studio"), startWorker("--queues", "llmctl_studio")]);
    const trace = join(files.dir, "busy.trace");
    const [job] = await producer.enqueue("e2e.busy", { file: trace, ms: 5000 });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 20_000 });
    await Bun.sleep(1500);
    expect(outcome?.state).toBe("completed");
    expect(readFileSync(trace, "utf8").split("\n").filter((line) => line.endsWith("start"))).toHaveLength(1);
  });

  it("publishes a heartbeat that disappears within its TTL when the worker dies", async () => {
    const worker = await startWorker("--role", "webserver", "--hostname", "web01");
    const status = JSON.parse((await llmctl(["task", "status", "--json"], { env: env() })).stdout) as { workers: Array<{ hostname: string; queues: string[]; concurrency: number }> };
    expect(status.workers).toHaveLength(1);
    expect(status.workers[0]).toMatchObject({ hostname: "web01", queues: ["webserver_tasks", "webserver_tasks.web01"], concurrency: 2 });
    worker.signal("SIGKILL");
    await worker.exited;
    await Bun.sleep(1700);
    expect((await new Inspector(broker).workers()).length).toBe(0);
  });

  it("serves /healthz, /readyz and /metrics on --health-port", async () => {
    const worker = await startWorker("--health-port", "0");
    const started = await worker.waitForLog("worker started");
    const base = `http://127.0.0.1:${String(started.health_port)}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", redis: "connected" });
    const ping = await llmctl(["task", "llmctl.ping", "--wait", "--json"], { env: env() });
    expect(ping.code).toBe(0);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain("llmctl_worker_slots 2");
    expect(metrics).toContain("llmctl_redis_up 1");
    expect(metrics).toMatch(/^llmctl_worker_jobs_total\{queue="[^"]+",task="llmctl.ping",outcome="completed"\} 1$/m);
    expect(metrics).toContain('llmctl_job_duration_seconds_count{task="llmctl.ping"} 1');
  });

  it("runs command tasks from the config and module tasks from tasks_dir", async () => {
    await startWorker();
    const greet = await llmctl(["task", "greet", "name=world", "--wait", "--json"], { env: env() });
    expect(greet.code).toBe(0);
    expect(JSON.parse(greet.stdout)[0].result.stdout_tail).toBe("hello world\n");
    const list = JSON.parse((await llmctl(["task", "list", "--json"], { env: env() })).stdout) as Array<{ name: string }>;
    expect(list.map((task) => task.name)).toEqual(expect.arrayContaining(["e2e.busy", "greet", "llmctl.ping", "shell", "services.tasks.cleanup_workspaces", "rag.worker.tasks.run_index_task"]));
  });

  it("lists targets that did not return and exits 1", async () => {
    await startWorker("--role", "webserver", "--hostname", "web01");
    const result = await llmctl(["task", "llmctl.ping", "--targets", "webserver", "--wait", "--timeout", "2s"], { env: env() });
    expect(`${result.stdout}${result.stderr}`).toContain("did not return");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("did not return: web02");
    expect(result.stdout).toMatch(/web01\s+\S+\s+completed/);
  });

  it("shows, follows and retries jobs", async () => {
    await startWorker();
    const failing = await llmctl(["task", "shell", "--wait", "--json", "--", "/bin/sh", "-c", "echo step one; echo broken >&2; exit 4"], { env: env() });
    expect(failing.code).toBe(1);
    const { id, error } = (JSON.parse(failing.stdout) as Array<{ id: string; error: string }>)[0]!;
    expect(error).toBe("/bin/sh exited with code 4: broken");
    const logs = await llmctl(["job", "logs", id], { env: env() });
    expect(logs.stdout).toContain("stdout: step one");
    const retried = await llmctl(["job", "retry", id], { env: env() });
    expect(retried.stdout).toContain("queued again");
    const notFailed = await llmctl(["job", "retry", id], { env: env() });
    expect(notFailed.code).toBe(notFailed.stdout.includes("queued again") ? 0 : 1);
  });
});

describe("bad input to worker and task (exit 2, nothing started or enqueued)", () => {
  it.each([
    [["--concurrency", "0"], "--concurrency"],
    [["--concurrency", "many"], "--concurrency"],
    [["--queues", "llmctl_studio,nope"], 'unknown queue "nope"'],
    [["--tasks-dir", "/nonexistent/tasks"], "tasks directory /nonexistent/tasks cannot be read"],
    [["--role", "webserver", "--hostname", "web09"], 'hostname "web09" is not listed'],
    [["--grace", "soon"], "--grace"],
  ])("worker %p", async (args, message) => {
    const result = await llmctl(["worker", ...args], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(await new Inspector(broker).workers()).toEqual([]);
  });

  it("rejects a task module that throws at import", async () => {
    const broken = tempDir();
    try {
      broken.file("broken.ts", 'throw new Error("boom at import");\n');
      const result = await llmctl(["worker", "--tasks-dir", broken.dir], { env: env() });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("broken.ts failed to load: boom at import");
    } finally {
      broken.cleanup();
    }
  });

  it.each([
    [["task", "llmctl.pong"], 'unknown task "llmctl.pong" (did you mean "llmctl.ping"?)'],
    [["task", "llmctl.ping", "--targets", "webserver,nowhere"], 'target "nowhere" names no role or queue'],
    [["task", "greet", "name=NOT LOWER"], "invalid arguments for greet: name"],
    [["task", "shell", "--data", "{oops"], "--data is not valid JSON"],
    [["task", "llmctl.ping", "--delay", "later"], "--delay"],
  ])("%p", async (args, message) => {
    const result = await llmctl(args, { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    const counts = await new Inspector(broker).queueCounts();
    expect(counts.reduce((sum, queue) => sum + queue.waiting + queue.delayed, 0)).toBe(0);
  });

  it("says which Redis is unreachable and exits 1", async () => {
    const result = await llmctl(["task", "status"], { env: { ...env(), LLMCTL_REDIS_URL: "redis://127.0.0.1:1/0" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot reach Redis at 127.0.0.1:1: connection refused");
  });
});
