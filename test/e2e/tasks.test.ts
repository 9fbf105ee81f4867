/**
 * The task inventory as users run it: `dist/llmctl task … --wait` against `dist/llmctl worker`
 * processes, a private redis-server, and local fakes of the hub, the LLM endpoint and the
 * package tools.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { waitForJobs } from "../../src/broker/job-waiter.ts";
import { Producer } from "../../src/broker/producer.ts";
import { loadTaskRegistry } from "../../src/tasks/load.ts";
import { ensureBinary, llmctl, ROOT } from "../helpers/cli.ts";
import { loadedConfig } from "../helpers/config.ts";
import { startFakeHub, type FakeHub } from "../helpers/fake-hub.ts";
import { startFakeLlm, type FakeLlm } from "../helpers/fake-llm.ts";
import { APT_SIMULATE_INSTALL, APT_SIMULATE_UPGRADE, APT_UPDATE, SYSTEMCTL_SHOW_RUNNING, fakeTools } from "../helpers/fake-tools.ts";
import { randomBytes, tempDir } from "../helpers/files.ts";
import { startRole, type RoleProcess } from "../helpers/processes.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

setDefaultTimeout(45_000);

const files = tempDir("llmctl-e2e-tasks-");
const modelsDir = join(files.dir, "models");
const corpus = join(files.dir, "docs");
const tools = fakeTools(join(files.dir, "bin"));
let hub: FakeHub;
let llm: FakeLlm;
let redis: RedisServer;
let broker: Broker;
let producer: Producer;
let configPath: string;
const roles: RoleProcess[] = [];

const weights = randomBytes(1536 * 1024);

function env(): Record<string, string> {
  return { LLMCTL_REDIS_URL: redis.url, LLMCTL_CONFIG: configPath, HF_ENDPOINT: hub.url };
}

async function startWorker(...args: string[]): Promise<RoleProcess> {
  const worker = startRole(["worker", ...args], env());
  roles.push(worker);
  await worker.waitForLog("worker started");
  return worker;
}

async function sendAndWait(args: string[]): Promise<Array<{ state: string; result: Record<string, unknown>; error: string | null; hostname?: string }>> {
  const run = await llmctl(["task", ...args, "--wait", "--json", "--timeout", "30s"], { env: env(), timeoutMs: 40_000 });
  if (run.code !== 0 && !run.stdout.startsWith("[")) throw new Error(`llmctl task failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout);
}

beforeAll(async () => {
  ensureBinary();
  hub = startFakeHub();
  hub.repos.set("acme/tiny", { commit: "d".repeat(40), files: { "config.json": { content: new TextEncoder().encode("{}\n") }, "model.safetensors": { content: weights, lfs: true } } });
  llm = startFakeLlm();
  redis = await startRedisServer();
  mkdirSync(corpus, { recursive: true });
  writeFileSync(join(corpus, "deploy.md"), "The studio listens on port 8080.\n");
  const config = `prefix: e2etasks
queues: [llmctl_studio, llmctl_studio.downloads.huggingface, llmctl_studio.rag.index, llmctl_studio.rag.drive, llmctl_studio.rag.git]
routes:
  services.tasks.run_huggingface_download_task: llmctl_studio.downloads.huggingface
workers:
  webserver: { hostnames: [web01, web02], queue: webserver_tasks }
worker: { heartbeat: 500ms, lock_duration: 2s, stalled_interval: 1s, grace: 5s }
models: { dir: ${modelsDir}, min_free: "0" }
llm: { base_url: ${llm.url}, model: tiny-chat, max_retries: 0 }
agents:
  helper: { system_prompt: You help operators., tools: [llmctl.ping] }
rag:
  index_dir: ${join(files.dir, "index")}
  collections: { ops: { dir: ${corpus} } }
fleet: { path: ${tools.dir} }
`;
  configPath = files.file("llmctl.yaml", config);
  const loaded = loadedConfig(config, redis.url);
  broker = await openBroker(loaded, "e2e-tasks");
  producer = new Producer(broker, await loadTaskRegistry(loaded.config, { configPath }));
}, 120_000);
afterEach(async () => {
  await Promise.all(roles.splice(0).map((role) => role.stop()));
  await broker.connection.flushdb();
  hub.requests.length = 0;
  hub.bytesPerSecond = 0;
  llm.answers.length = 0;
  llm.requests.length = 0;
  llm.respond = undefined;
});
afterAll(async () => {
  await broker.close();
  await redis.stop();
  await hub.stop();
  await llm.stop();
  files.cleanup();
});

describe("docs/tasks.md", () => {
  it("documents exactly the tasks `llmctl task list --json` reports", async () => {
    const empty = tempDir();
    try {
      const listed = await llmctl(["task", "list", "--json"], { cwd: empty.dir });
      expect(listed.code).toBe(0);
      const names = (JSON.parse(listed.stdout) as Array<{ name: string }>).map((task) => task.name).sort();
      const documented = [...readFileSync(join(ROOT, "docs/tasks.md"), "utf8").split("## Built-in tasks")[1]!.split("\n## ")[0]!.matchAll(/^### `([^`]+)`$/gm)].map((match) => match[1]!).sort();
      expect(documented).toEqual(names);
    } finally {
      empty.cleanup();
    }
  });
});

describe("the task inventory from `dist/llmctl task … --wait`", () => {
  it("downloads a snapshot from the hub in HF_ENDPOINT, verified", async () => {
    await startWorker("--queues", "llmctl_studio.downloads.huggingface");
    const [outcome] = await sendAndWait(["services.tasks.run_huggingface_download_task", "acme/tiny"]);
    expect(outcome).toMatchObject({ state: "completed", result: { status: "downloaded", files: 2, commit: "d".repeat(40) } });
    expect(readFileSync(join(modelsDir, "acme/tiny/model.safetensors")).equals(weights)).toBe(true);
    const [again] = await sendAndWait(["services.tasks.run_huggingface_download_task", "acme/tiny"]);
    expect(again!.result).toMatchObject({ status: "up_to_date", message: "already complete: nothing downloaded" });
  });

  it("resumes a download with a Range request after its worker is killed with SIGKILL, and ends verified", async () => {
    hub.repos.set("acme/slow", { commit: "e".repeat(40), files: { "model.safetensors": { content: weights, lfs: true } } });
    hub.bytesPerSecond = 256 * 1024;
    const first = await startWorker("--queues", "llmctl_studio.downloads.huggingface");
    const [job] = await producer.enqueue("services.tasks.run_huggingface_download_task", { repo_id: "acme/slow" });
    const partialDir = join(modelsDir, ".partial/acme/slow");
    const partialSize = () => (existsSync(partialDir) ? readdirSync(partialDir).reduce((sum, name) => sum + statSync(join(partialDir, name)).size, 0) : 0);
    for (let i = 0; i < 200 && partialSize() < 300 * 1024; i++) await Bun.sleep(25);
    first.signal("SIGKILL");
    await first.exited;
    const kept = partialSize();
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(weights.length);

    hub.bytesPerSecond = 0;
    await startWorker("--queues", "llmctl_studio.downloads.huggingface");
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 30_000 });
    expect(outcome!.state).toBe("completed");
    const downloaded = (outcome!.result as { downloaded: Array<{ resumed_from: number; verified: string }> }).downloaded[0]!;
    expect(downloaded.resumed_from).toBeGreaterThan(0);
    expect(downloaded.verified).toBe("sha256");
    const ranges = hub.requests.filter((request) => request.path.startsWith("/cdn/") && request.range !== null).map((request) => request.range);
    expect(ranges).toContain(`bytes=${downloaded.resumed_from}-`);
    expect(readFileSync(join(modelsDir, "acme/slow/model.safetensors")).equals(weights)).toBe(true);
    expect(existsSync(partialDir)).toBe(false);
  });

  it("runs run_agent, and run_agent_task with a tool call as a child job on a one-slot worker", async () => {
    await startWorker("--queues", "llmctl_studio", "--concurrency", "1");
    llm.answers.push({ content: "Hello, operator." });
    const [agent] = await sendAndWait(["services.tasks.run_agent", "Say hello"]);
    expect(agent).toMatchObject({ state: "completed", result: { message: "Hello, operator.", model: "tiny-chat", usage: { total_tokens: 17 } } });

    llm.answers.push({ tool_calls: [{ name: "llmctl_ping", arguments: {} }] }, { content: "All workers answered." });
    const [withTool] = await sendAndWait(["services.tasks.run_agent_task", "helper", "Are the workers alive?"]);
    expect(withTool).toMatchObject({ state: "completed", result: { agent: "helper", message: "All workers answered.", tool_calls: [{ task: "llmctl.ping", state: "completed" }] } });
    const logs = await llmctl(["job", "logs", (withTool as unknown as { id: string }).id], { env: env() });
    expect(logs.stdout).toContain("tool llmctl_ping: completed");
  });

  it("answers a quick RAG question with its source", async () => {
    await startWorker("--queues", "llmctl_studio");
    llm.answers.push({ content: "Port 8080 [1]." });
    const [rag] = await sendAndWait(["services.tasks.run_quick_rag_task", "ops", "Which port does the studio use?"]);
    expect(rag).toMatchObject({ state: "completed", result: { answer: "Port 8080 [1].", cited: [1], sources: [{ path: "deploy.md" }], index: { added: ["deploy.md"] } } });
  });

  it("runs install, check_security_updates and service on every host of a role", async () => {
    tools.tool("apt-get", [
      { when: "install -s --no-install-recommends nginx", stdout: APT_SIMULATE_INSTALL },
      { when: "update -q", stdout: APT_UPDATE },
      { when: "-s -q -o Debug::NoLocking=1 upgrade", stdout: APT_SIMULATE_UPGRADE },
    ]);
    tools.tool("systemctl", [{ when: "show*", stdout: SYSTEMCTL_SHOW_RUNNING }]);
    await Promise.all([startWorker("--role", "webserver", "--hostname", "web01"), startWorker("--role", "webserver", "--hostname", "web02")]);
    const installed = await sendAndWait(["install", "nginx", "dry_run=true", "--targets", "webserver"]);
    expect(installed.map((outcome) => [outcome.hostname, outcome.state, outcome.result.manager, (outcome.result.changes as unknown[]).length])).toEqual([
      ["web01", "completed", "apt", 2],
      ["web02", "completed", "apt", 2],
    ]);
    const updates = await sendAndWait(["check_security_updates", "--targets", "webserver"]);
    expect(updates.map((outcome) => outcome.result.security_count)).toEqual([2, 2]);
    const status = await sendAndWait(["service", "status", "nginx", "--targets", "webserver:any"]);
    expect(status[0]).toMatchObject({ state: "completed", result: { unit: "nginx.service", active: true } });
  });

  it("refuses a package name with shell metacharacters at enqueue: exit 2, nothing enqueued", async () => {
    const refused = await llmctl(["task", "install", "nginx;reboot", "--targets", "webserver"], { env: env() });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("invalid arguments for install: packages[0]");
    expect(await broker.queue("webserver_tasks.web01").count()).toBe(0);
  });
});
