/**
 * The schema of llmctl.yaml. It is the single source of the loader's structural validation, of
 * the TypeScript types the rest of the code uses, and of config/llmctl.schema.json (editor
 * completion), so the three cannot drift apart.
 */
import { z } from "zod";
import { isByteSize, parseBytes } from "../util/bytes.ts";
import { isDuration, parseDurationMs } from "../util/duration.ts";

export const QUEUE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
export const ROLE_NAME = /^[a-z][a-z0-9_-]*$/;
export const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
export const TASK_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
export const SCHEDULE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const queueName = z
  .string()
  .regex(QUEUE_NAME, "queue names use letters, digits, '_', '.' and '-' (no ':' or spaces)")
  .max(200);
const taskName = z.string().regex(TASK_NAME, "task names use letters, digits, '_', '.' and '-'");
const duration = z
  .string({ error: "expected a duration with a unit, such as 30s or 10m (a bare number is ambiguous)" })
  .refine(isDuration, "expected a duration such as 500ms, 30s, 10m, 2h or 1d");

export const redisSchema = z
  .strictObject({
    url: z
      .string()
      .describe(
        "redis://[user[:password]@]host[:port][/db], rediss:// for TLS, 'embedded' for the in-process store " +
          "(memory only) or 'embedded:///path/to/file' to keep a snapshot on disk",
      )
      .optional(),
    host: z.string().min(1).describe("overrides the host of url").optional(),
    port: z.number().int().min(1).max(65535).describe("overrides the port of url").optional(),
    db: z.number().int().min(0).max(255).describe("overrides the database number of url").optional(),
    username: z.string().min(1).describe("ACL user name").optional(),
    password_file: z
      .string()
      .min(1)
      .describe("a file holding the Redis password (a mounted Secret); passwords never go into this file")
      .optional(),
    tls: z.boolean().describe("connect with TLS (implied by rediss://)").optional(),
    connect_timeout: duration.describe("how long to wait for Redis before giving up (default 10s)").optional(),
  })
  .describe("Where Redis is. Environment variables override it: LLMCTL_REDIS_URL, LLMCTL_REDIS_HOST/_PORT/_DB/_PASSWORD.");

export const roleSchema = z
  .strictObject({
    hostnames: z.array(z.string().regex(HOSTNAME, "hostnames use letters, digits, '-' and '.'")).default([]),
    queue: queueName.describe("the role queue; each host also consumes <queue>.<hostname>"),
    description: z.string().optional(),
  })
  .describe("A fleet role: a set of hosts that share a queue");

export const catchupPolicy = z.enum(["skip", "once", "all"]);
export const overlapPolicy = z.enum(["allow", "skip"]);

const targetList = z
  .array(z.string().min(1))
  .describe("role names (one job per host), 'role:any' (one job for any host) or queue names; default: the task's queue");

export const STEP_NAME = /^[A-Za-z0-9_-]+$/;

export const workflowStepSchema = z
  .strictObject({
    name: z
      .string()
      .regex(STEP_NAME, "step names use letters, digits, '_' and '-'")
      .max(60)
      .optional()
      .describe("label of the step in the workflow's result (default: step1, step2, …)"),
    task: taskName.describe("the task this step runs"),
    args: z.record(z.string(), z.unknown()).default({}).describe("arguments passed to the task"),
    targets: targetList.optional(),
  })
  .describe("one step of a workflow: runs only after every target of the previous step succeeded");

export const scheduleSchema = z.strictObject({
  cron: z.string().min(1).describe("5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first"),
  timezone: z.string().min(1).default("UTC").describe("IANA time zone the cron is evaluated in, e.g. Europe/Berlin"),
  task: taskName.optional().describe("the task to dispatch (or give steps instead)"),
  steps: z
    .array(workflowStepSchema)
    .min(1, "a workflow needs at least one step")
    .max(50)
    .optional()
    .describe("a workflow instead of one task: steps run in order, each after every target of the previous one succeeded"),
  args: z.record(z.string(), z.unknown()).default({}).describe("arguments passed to the task"),
  targets: targetList.optional(),
  description: z.string().optional(),
  enabled: z.boolean().default(true),
  catchup: catchupPolicy
    .default("skip")
    .describe("fire times missed while beat was down: skip them, run once, or run all (up to max_catchup)"),
  max_catchup: z.number().int().min(1).max(10_000).default(100).describe("upper bound for catchup: all"),
  overlap: overlapPolicy
    .default("allow")
    .describe("skip a fire time while the previous run for the same target is still waiting or running"),
});

export const backoffSchema = z.union([
  z.enum(["fixed", "exponential"]),
  z.strictObject({ type: z.enum(["fixed", "exponential"]), delay: duration }),
]);

export const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const argSpecSchema = z
  .strictObject({
    type: z.enum(["string", "integer", "number", "boolean", "array"]).default("string"),
    items: z.enum(["string", "integer", "number", "boolean"]).optional().describe("element type of an array argument"),
    description: z.string().optional(),
    required: z.boolean().default(false),
    default: z.unknown().optional(),
    enum: z.array(z.union([z.string(), z.number()])).optional(),
    pattern: z.string().optional().describe("regular expression a string (or each array element) must match in full"),
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .describe("one argument of a command task");

export const taskOptionsSchema = z.strictObject({
  kind: z.enum(["command"]).optional().describe("'command' defines a new task that runs an argv template"),
  command: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe("argv template for kind: command; {name} is replaced by an argument, {name...} splices an array"),
  args: z.record(z.string().regex(ARG_NAME, "argument names are identifiers"), argSpecSchema).optional().describe("arguments of a command task"),
  cwd: z.string().optional().describe("working directory of a command task"),
  queue: queueName.optional().describe("default queue when no route names the task"),
  timeout: duration.optional().describe("a run that takes longer is aborted and fails"),
  attempts: z.number().int().min(1).max(1000).optional().describe("total tries, the first included"),
  backoff: backoffSchema.optional().describe("delay between tries: fixed or exponential (base delay 1s unless given)"),
  priority: z.number().int().min(1).max(2_097_152).optional().describe("lower runs first; unset runs before any priority"),
  description: z.string().optional(),
});

export const workerSettingsSchema = z.strictObject({
  concurrency: z.number().int().min(1).max(1000).default(2).describe("jobs one worker process runs at once across its queues"),
  grace: duration.default("30s").describe("on SIGTERM, how long running jobs may take to finish"),
  heartbeat: duration.default("5s").describe("how often a worker publishes its heartbeat (it expires after 3 beats)"),
  lock_duration: duration.default("30s").describe("how long a job's lock lasts without renewal; a dead worker's job is rerun after this"),
  stalled_interval: duration.default("30s").describe("how often each worker looks for jobs whose worker died"),
});

/** A duration between `min` and `max` milliseconds, for settings where a tiny or huge value is a mistake. */
function boundedDuration(minMs: number, maxMs: number, range: string) {
  return duration.refine((value) => {
    const ms = parseDurationMs(value);
    return ms === undefined || (ms >= minMs && ms <= maxMs); // an unparsable value is reported by `duration` already
  }, `expected a duration from ${range}`);
}

export const beatSettingsSchema = z.strictObject({
  lease_ttl: boundedDuration(1_000, 300_000, "1s to 5m")
    .default("10s")
    .describe("how long the active beat's lease lasts without renewal; a standby takes over within it when the active beat dies"),
  heartbeat: boundedDuration(500, 300_000, "500ms to 5m")
    .default("5s")
    .describe("how often a beat publishes its heartbeat (it expires after 3 beats)"),
});

export const workspacesSchema = z.strictObject({
  root: z.string().min(1).default("/var/lib/llmctl/workspaces").describe("directory holding one sub-directory per workspace"),
  max_age: duration.default("7d").describe("services.tasks.cleanup_workspaces removes workspaces not modified for this long"),
});

export const shellSchema = z.strictObject({
  allowed_commands: z
    .array(z.string().min(1))
    .default(["*"])
    .describe("glob patterns argv[0] of the shell task must match, e.g. /usr/bin/*; ['*'] allows any"),
  env_allowlist: z
    .array(z.string().min(1))
    .default(["PATH", "HOME", "LANG", "LC_ALL", "TZ"])
    .describe("worker environment variables passed on to shell and command tasks; nothing else leaks"),
});

export const studioSettingsSchema = z.strictObject({
  host: z
    .string()
    .min(1)
    .default("127.0.0.1")
    .describe("address the studio listens on; without a token only loopback addresses are allowed (unless --insecure)"),
  port: z.number().int().min(0).max(65535).default(8080).describe("TCP port of the API and dashboard (0 picks a free one)"),
  max_body: z
    .union([
      z.number().int().min(1).describe("bytes"),
      z.string().refine((text) => (parseBytes(text) ?? 0) > 0, "expected a size such as 1MiB, 512KiB or 64kB"),
    ])
    .default("1MiB")
    .describe("largest request body accepted; a larger one is refused with 413"),
  public_read: z.boolean().default(false).describe("let GET endpoints and the event stream answer without the token; changes still need it"),
  token_file: z
    .string()
    .min(1)
    .optional()
    .describe("a file holding the bearer token (a mounted Secret), relative to this file; LLMCTL_STUDIO_TOKEN and --token-file win over it"),
});
const byteSize = z
  .string({ error: "expected a size with a unit, such as 512MB or 2GiB" })
  .refine(isByteSize, "expected a size such as 0, 512MB, 10GB or 2GiB");

export const modelsSchema = z
  .strictObject({
    dir: z.string().min(1).default("/var/lib/llmctl/models").describe("where model snapshots are downloaded: <dir>/<org>/<name>"),
    endpoint: z
      .url()
      .optional()
      .describe("Hugging Face-compatible hub (default https://huggingface.co); the HF_ENDPOINT environment variable wins"),
    token_env: z.string().min(1).default("HF_TOKEN").describe("environment variable holding the hub token, sent when set"),
    min_free: byteSize.default("1GiB").describe("disk space a download must leave free; it refuses to start otherwise"),
  })
  .describe("Model downloads (services.tasks.run_huggingface_download_task)");

export const llmSchema = z
  .strictObject({
    base_url: z.url().default("http://localhost:8000/v1").describe("OpenAI-compatible API root; /chat/completions is appended"),
    model: z.string().min(1).default("default").describe("model name sent with each request unless an agent or the job names one"),
    api_key_env: z.string().min(1).optional().describe("environment variable holding the API key (sent as a bearer token when set)"),
    request_timeout: duration.default("120s").describe("one request's limit, streaming included"),
    max_retries: z.number().int().min(0).max(10).default(3).describe("retries on 429, 5xx and connection failures, honouring Retry-After"),
    max_retry_wait: duration.default("60s").describe("a Retry-After longer than this fails the job instead of waiting"),
  })
  .describe("The chat-completions endpoint agents and quick RAG talk to");

export const agentSchema = z
  .strictObject({
    description: z.string().optional(),
    model: z.string().min(1).optional().describe("default: llm.model"),
    system_prompt: z.string().min(1).describe("the agent's instructions"),
    tools: z.array(taskName).default([]).describe("registered tasks the agent may call; each call runs as a child job"),
    max_steps: z.number().int().min(1).max(50).default(8).describe("model calls per run, tool rounds included"),
    temperature: z.number().min(0).max(2).optional(),
  })
  .describe("An agent for services.tasks.run_agent_task");

export const ragSchema = z
  .strictObject({
    index_dir: z.string().min(1).default("/var/lib/llmctl/rag").describe("where the full-text indexes are kept (one SQLite file per collection)"),
    top_k: z.number().int().min(1).max(50).default(5).describe("chunks given to the model per question"),
    collections: z
      .record(
        z.string().regex(/^[A-Za-z0-9_-]+$/, "collection names use letters, digits, '_' and '-'"),
        z.strictObject({
          dir: z.string().min(1).describe("directory of .txt and .md files (searched recursively)"),
          description: z.string().optional(),
        }),
      )
      .default({}),
  })
  .describe("Document collections for services.tasks.run_quick_rag_task");

export const fleetSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .default("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
      .describe("directories searched for apt-get, dnf, apk and systemctl by the install, check_security_updates and service tasks"),
  })
  .describe("Fleet chores: package and service management on the worker's host");

export const environmentSchema = z
  .strictObject({
    redis: redisSchema.optional(),
    workers: z.record(z.string().regex(ROLE_NAME), roleSchema).optional(),
  })
  .describe("Overrides selected with --env NAME or LLMCTL_ENV");

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    redis: redisSchema.default({}),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_{}-]+$/, "use letters, digits, '_', '-' and braces")
      .default("llmctl")
      .describe("key namespace in Redis"),
    queues: z.array(queueName).min(1, "declare at least one queue").describe("the queue contract; the first is the default queue"),
    routes: z.record(taskName, queueName).default({}).describe("task name -> queue"),
    workers: z
      .record(z.string().regex(ROLE_NAME, "role names are lower case letters, digits, '_' and '-'"), roleSchema)
      .default({}),
    schedules: z
      .record(z.string().regex(SCHEDULE_NAME, "schedule names use letters, digits, '_', '.' and '-'"), scheduleSchema)
      .default({}),
    tasks: z.record(taskName, taskOptionsSchema).default({}).describe("per-task options, and command tasks (kind: command)"),
    tasks_dir: z.string().min(1).optional().describe("directory of .ts/.js modules, each exporting defineTask(...), loaded at start"),
    worker: workerSettingsSchema.prefault({}),
    beat: beatSettingsSchema.prefault({}),
    workspaces: workspacesSchema.prefault({}),
    shell: shellSchema.prefault({}),
    studio: studioSettingsSchema.prefault({}),
    models: modelsSchema.prefault({}),
    llm: llmSchema.prefault({}),
    agents: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "agent names use letters, digits, '_', '.' and '-'"), agentSchema).default({}),
    rag: ragSchema.prefault({}),
    fleet: fleetSchema.prefault({}),
    environments: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), environmentSchema).default({}),
  })
  .describe("llmctl configuration");

export type ConfigInput = z.input<typeof configSchema>;
export type ConfigFile = z.output<typeof configSchema>;
export type RedisSection = z.output<typeof redisSchema>;
export type Role = z.output<typeof roleSchema>;
export type Schedule = z.output<typeof scheduleSchema>;
export type WorkflowStep = z.output<typeof workflowStepSchema>;
export type WorkflowStepInput = z.input<typeof workflowStepSchema>;
export type BeatSettings = z.output<typeof beatSettingsSchema>;
export type TaskOptions = z.output<typeof taskOptionsSchema>;
export type ArgSpec = z.output<typeof argSpecSchema>;
export type WorkerSettings = z.output<typeof workerSettingsSchema>;
export type StudioSettings = z.output<typeof studioSettingsSchema>;
export type LlmSettings = z.output<typeof llmSchema>;
export type AgentDefinition = z.output<typeof agentSchema>;
export type CatchupPolicy = z.output<typeof catchupPolicy>;
export type OverlapPolicy = z.output<typeof overlapPolicy>;

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return { ...schema, $id: "https://llmctl.dev/llmctl.schema.json", title: "llmctl.yaml" };
}
