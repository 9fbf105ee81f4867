/**
 * The schema of llmctl.yaml. It is the single source of the loader's structural validation, of
 * the TypeScript types the rest of the code uses, and of config/llmctl.schema.json (editor
 * completion), so the three cannot drift apart.
 */
import { z } from "zod";
import { isDuration } from "../util/duration.ts";

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

export const scheduleSchema = z.strictObject({
  cron: z.string().min(1).describe("5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first"),
  timezone: z.string().min(1).default("UTC").describe("IANA time zone the cron is evaluated in, e.g. Europe/Berlin"),
  task: taskName.describe("the task to dispatch"),
  args: z.record(z.string(), z.unknown()).default({}).describe("arguments passed to the task"),
  targets: z
    .array(z.string().min(1))
    .optional()
    .describe("role names (one job per host), 'role:any' (one job for any host) or queue names; default: the task's queue"),
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

export const taskOptionsSchema = z.strictObject({
  queue: queueName.optional().describe("default queue when no route names the task"),
  timeout: duration.optional().describe("a run that takes longer is aborted and fails"),
  attempts: z.number().int().min(1).max(1000).optional().describe("total tries, the first included"),
  backoff: backoffSchema.optional().describe("delay between tries: fixed or exponential (base delay 1s unless given)"),
  priority: z.number().int().min(1).max(2_097_152).optional().describe("lower runs first; unset runs before any priority"),
  description: z.string().optional(),
});

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
    tasks: z.record(taskName, taskOptionsSchema).default({}).describe("per-task options"),
    environments: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), environmentSchema).default({}),
  })
  .describe("llmctl configuration");

export type ConfigInput = z.input<typeof configSchema>;
export type ConfigFile = z.output<typeof configSchema>;
export type RedisSection = z.output<typeof redisSchema>;
export type Role = z.output<typeof roleSchema>;
export type Schedule = z.output<typeof scheduleSchema>;
export type TaskOptions = z.output<typeof taskOptionsSchema>;
export type CatchupPolicy = z.output<typeof catchupPolicy>;
export type OverlapPolicy = z.output<typeof overlapPolicy>;

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return { ...schema, $id: "https://llmctl.dev/llmctl.schema.json", title: "llmctl.yaml" };
}
