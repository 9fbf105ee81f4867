/**
 * services.tasks.run_agent and run_agent_task against a local OpenAI-compatible endpoint
 * (test/helpers/fake-llm.ts); tool calls through a real worker and a private redis-server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { waitForJobs } from "../../src/broker/job-waiter.ts";
import { Producer } from "../../src/broker/producer.ts";
import { loadTaskRegistry } from "../../src/tasks/load.ts";
import runAgent from "../../src/tasks/builtin/run-agent.ts";
import runAgentTask from "../../src/tasks/builtin/run-agent-task.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { start, type WorkerHandle } from "../../src/worker/index.ts";
import { loadedConfig } from "../helpers/config.ts";
import { yaml } from "../helpers/files.ts";
import { startFakeLlm, type FakeLlm } from "../helpers/fake-llm.ts";
import { freePort, startRedisServer, type RedisServer } from "../helpers/redis-server.ts";
import { expectStopsWithinASecond, handlerContext } from "../helpers/task-context.ts";

setDefaultTimeout(20_000);

let llm: FakeLlm;

function configText(llmExtra = ""): string {
  return yaml`
    prefix: agent
    queues: [llmctl_studio]
    worker: { heartbeat: 500ms, lock_duration: 2s, stalled_interval: 1s }
    llm: { base_url: ${llm.url}, model: tiny-chat, api_key_env: LLMCTL_TEST_LLM_KEY, max_retries: 2 ${llmExtra} }
    agents:
      helper:
        system_prompt: You help operators.
        tools: [llmctl.ping]
        max_steps: 3
  `;
}

function agentContext(args: Record<string, unknown>, options: { llmExtra?: string; signal?: AbortSignal } = {}) {
  return handlerContext<never>({ stream: true, ...args }, configText(options.llmExtra), options.signal);
}

function call(task: { handler: (context: never) => unknown }, context: unknown): Promise<Record<string, unknown>> {
  return Promise.resolve(task.handler(context as never)) as Promise<Record<string, unknown>>;
}

beforeAll(() => {
  llm = startFakeLlm();
});
afterEach(() => {
  llm.answers.length = 0;
  llm.requests.length = 0;
  llm.respond = undefined;
  delete process.env.LLMCTL_TEST_LLM_KEY;
});
afterAll(async () => {
  await llm.stop();
});

describe("services.tasks.run_agent", () => {
  it("streams the reply into the job log line by line and returns message, model and usage", async () => {
    process.env.LLMCTL_TEST_LLM_KEY = "sk-test";
    llm.answers.push({ content: "Disk usage is fine.\nNothing to do today.", model: "tiny-chat-2024", usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 } });
    const ctx = agentContext({ prompt: "How are the disks?", system: "Be brief." });
    const result = await call(runAgent, ctx);
    expect(result).toMatchObject({ message: "Disk usage is fine.\nNothing to do today.", model: "tiny-chat-2024", finish_reason: "stop", usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 }, steps: 1, tool_calls: [] });
    expect(ctx.logs).toEqual(["Disk usage is fine.", "Nothing to do today."]);
    expect(ctx.progressed.at(-1)).toMatchObject({ percent: 100, tokens_streamed: 8 });
    const [request] = llm.requests;
    expect(request!.body).toMatchObject({ model: "tiny-chat", stream: true, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "How are the disks?" }] });
    expect(request!.authorization).toBe("Bearer sk-test");
  });

  it("works without streaming", async () => {
    llm.answers.push({ content: "42" });
    const ctx = agentContext({ prompt: "The answer?", stream: false });
    expect(await call(runAgent, ctx)).toMatchObject({ message: "42", usage: { total_tokens: 17 } });
    expect(llm.requests[0]!.body.stream).toBe(false);
    expect(llm.requests[0]!.authorization).toBeNull();
  });

  it("retries a 429 after the Retry-After it names, and reports the wait in the log", async () => {
    llm.answers.push({ status: 429, headers: { "Retry-After": "1" }, body: JSON.stringify({ error: { message: "Rate limit reached" } } ) }, { content: "done" });
    const ctx = agentContext({ prompt: "hi" });
    const result = await call(runAgent, ctx);
    expect(result.message).toBe("done");
    const [first, second] = llm.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    expect(ctx.logs[0]).toBe("the LLM endpoint answered 429: Rate limit reached; retrying in 1s (attempt 2 of 3)");
  });

  it.each([
    ["a Retry-After longer than llm.max_retry_wait", [{ status: 429, headers: { "Retry-After": "120" } }], "the LLM endpoint answered 429; it asks to retry after 2m, longer than llm.max_retry_wait (60s)"],
    ["5xx on every attempt", [{ status: 503, body: "overloaded" }, { status: 503, body: "overloaded" }, { status: 502, body: "bad gateway" }], "the LLM endpoint answered 502: bad gateway (gave up after 3 attempts)"],
    ["a reply that is not JSON", [{ raw: "<html>proxy error</html>", contentType: "text/html" }], "the LLM endpoint sent a malformed reply: not JSON: <html>proxy error</html>"],
    ["a stream event that is not JSON", [{ raw: "data: {\"choices\": [\n\n", contentType: "text/event-stream" }], 'the LLM endpoint sent a malformed reply: a stream event is not JSON: {"choices": ['],
    ["JSON without choices", [{ raw: '{"object": "error"}', contentType: "application/json" }], 'the LLM endpoint sent a malformed reply: no choices[0].message in {"object": "error"}'],
    ["a 401", [{ status: 401, body: JSON.stringify({ error: { message: "Incorrect API key" } }) }], "the LLM endpoint answered 401: Incorrect API key"],
  ])("fails on %s with a precise reason", async (_case, answers, message) => {
    llm.answers.push(...(answers as never[]));
    const failure = (await call(runAgent, agentContext({ prompt: "hi" })).catch((error: unknown) => error)) as Error;
    expect(failure.message).toBe(message);
  });

  it("fails when the endpoint is down, after its bounded retries", async () => {
    const port = await freePort();
    const started = Date.now();
    const failure = (await call(runAgent, handlerContext({ prompt: "hi", stream: true }, `queues: [a]\nllm: { base_url: "http://127.0.0.1:${port}/v1", max_retries: 1 }\n`)).catch((error: unknown) => error)) as Error;
    expect(failure.message).toMatch(new RegExp(`^the LLM endpoint http://127.0.0.1:${port}/v1 is unreachable \\(.+\\) \\(gave up after 2 attempts\\)$`));
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("stops a streaming reply within a second when aborted", async () => {
    llm.answers.push({ content: Array.from({ length: 200 }, (_, i) => `word${i}`).join(" "), delayPerChunkMs: 50 });
    await expectStopsWithinASecond((signal) => call(runAgent, agentContext({ prompt: "talk" }, { signal })), 400);
  });
});

describe("services.tasks.run_agent_task with tools (real worker, child jobs)", () => {
  let redis: RedisServer;
  let broker: Broker;
  let worker: WorkerHandle;
  let producer: Producer;

  beforeAll(async () => {
    redis = await startRedisServer();
    const loaded = loadedConfig(configText(), redis.url);
    const registry = await loadTaskRegistry(loaded.config);
    broker = await openBroker(loaded, "agent-test");
    producer = new Producer(broker, registry);
    worker = await start({ loaded, registry, logger: silentLogger(), concurrency: 1, graceMs: 2000 });
  });
  afterAll(async () => {
    await worker.close();
    await broker.close();
    await redis.stop();
  });

  it("runs an allowed tool as a child job on a one-slot worker and feeds its result back", async () => {
    llm.answers.push({ tool_calls: [{ name: "llmctl_ping", arguments: {} }] });
    llm.respond = (request) => {
      const tool = request.body.messages.find((message) => message.role === "tool");
      const hostname = (JSON.parse(String(tool?.content)) as { result: { hostname: string } }).result.hostname;
      return { content: `The worker ${hostname} answered.` };
    };
    const [job] = await producer.enqueue("services.tasks.run_agent_task", { agent: "helper", input: "Is a worker alive?" });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 15_000 });
    expect(outcome!.state).toBe("completed");
    const result = outcome!.result as Record<string, unknown>;
    expect(result).toMatchObject({ agent: "helper", steps: 2, usage: { total_tokens: 34 }, tool_calls: [{ tool: "llmctl_ping", task: "llmctl.ping", state: "completed" }] });
    expect(result.message).toMatch(/^The worker \S+ answered\.$/);
    const childId = (result.tool_calls as Array<{ job_id: string }>)[0]!.job_id;
    const child = await broker.queue("llmctl_studio").getJob(childId);
    expect(child?.data.meta).toMatchObject({ source: "task", parent: `llmctl_studio/${job!.id}`, depth: 1 });
    expect(llm.requests[0]!.body.tools!.map((tool) => tool.function.name)).toEqual(["llmctl_ping"]);
    expect(llm.requests[0]!.body.messages[0]).toEqual({ role: "system", content: "You help operators." });
  });

  it("refuses a tool the agent does not allow and tells the model, enqueueing nothing", async () => {
    llm.answers.push({ tool_calls: [{ name: "shell", arguments: { argv: ["/bin/rm", "-rf", "/"] } }] }, { content: "I may not do that." });
    const before = await broker.queue("llmctl_studio").getJobCounts();
    const [job] = await producer.enqueue("services.tasks.run_agent_task", { agent: "helper", input: "wipe it" });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 15_000 });
    expect(outcome!.result).toMatchObject({ message: "I may not do that.", tool_calls: [{ tool: "shell", state: "refused", error: "tool shell is not allowed for this agent (allowed: llmctl_ping)" }] });
    const toolMessage = llm.requests[1]!.body.messages.find((message) => message.role === "tool");
    expect(toolMessage?.content).toBe(JSON.stringify({ error: "tool shell is not allowed for this agent (allowed: llmctl_ping)" }));
    const after = await broker.queue("llmctl_studio").getJobCounts();
    expect(after.completed).toBe(before.completed! + 1); // the agent job alone
  });

  it("fails an unknown agent with the configured names", async () => {
    const [job] = await producer.enqueue("services.tasks.run_agent_task", { agent: "nobody", input: "x" });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 10_000 });
    expect(outcome).toMatchObject({ state: "failed", error: "no agent named nobody in the config (configured: helper)" });
  });
});
