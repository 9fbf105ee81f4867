/**
 * The API's request and response shapes. Requests are validated with them, the OpenAPI document
 * is generated from them, and the integration tests check every response against them, so the
 * three cannot drift apart.
 */
import { z } from "zod";
import { LISTED_STATES, MAX_PAGE_SIZE } from "../broker/inspector.ts";
import { QUEUE_NAME, TASK_NAME } from "../config/schema.ts";
import { isDuration } from "../util/duration.ts";

/**
 * Job ids: what llmctl (UUIDs), BullMQ (numbers) and job schedulers ("repeat:…") create. No
 * '/', no "..": an id never reads as a path, whatever decoding a proxy did before us.
 */
export const JOB_ID = /^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$/;

export const jobId = z.string().regex(JOB_ID, "job ids use letters, digits, '_', '.', ':' and '-' (no '/' or '..'), at most 200 characters");
export const queueName = z.string().max(200).regex(QUEUE_NAME, "queue names use letters, digits, '_', '.' and '-'");
export const taskName = z.string().max(200).regex(TASK_NAME, "task names use letters, digits, '_', '.' and '-'");

export const jobIdParams = z.strictObject({ id: jobId });
export const queueParams = z.strictObject({ name: queueName });
export const taskParams = z.strictObject({ name: taskName });

export const jobState = z.enum(LISTED_STATES);

export const jobListQuery = z.strictObject({
  queue: queueName.optional().describe("only this queue"),
  state: jobState.optional().describe("only jobs in this state"),
  task: taskName.optional().describe("only jobs of this task"),
  cursor: z
    .string()
    .max(2000)
    .optional()
    .describe("next_cursor of the previous page, unchanged and with the same filters; pages follow the lists as they are when read, so a job that changes state between pages can be skipped or seen twice"),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50).describe(`jobs per page, 1 to ${MAX_PAGE_SIZE}`),
});

export const jobDetailQuery = z.strictObject({
  queue: queueName.optional().describe("the job's queue, when the id exists in several"),
});

export const enqueueBody = z
  .strictObject({
    args: z.record(z.string(), z.unknown()).default({}).describe("the task's arguments; GET /api/v1/tasks gives their JSON Schema"),
    targets: z
      .array(z.string().min(1).max(300))
      .max(1000)
      .optional()
      .describe("role names (one job per host), 'role:any' or queue names; default: the task's queue"),
    delay: z
      .union([
        z.string().refine(isDuration, "a duration such as 30s or 10m"),
        z.number().int().min(0).describe("milliseconds"),
      ])
      .optional()
      .describe("run no earlier than this from now"),
    priority: z.number().int().min(1).max(2_097_152).optional().describe("1 runs first; without it a job runs before any prioritized one"),
  })
  .prefault({});

export const sessionBody = z.strictObject({ token: z.string().min(1).max(4096).describe("the studio token") });

export const errorResponse = z.strictObject({
  error: z.strictObject({
    code: z.enum(["invalid_json", "invalid_request", "unauthorized", "forbidden", "not_found", "method_not_allowed", "conflict", "payload_too_large", "redis_unavailable", "internal"]),
    message: z.string().describe("what went wrong, for people"),
    field: z.string().optional().describe("the request field at fault, e.g. args.argv or targets[0]"),
    hint: z.string().optional().describe("what to do about it"),
  }),
});

const timestamp = z.string().nullable().describe("ISO 8601, UTC");

export const queueOverview = z.strictObject({
  queue: z.string(),
  paused: z.boolean(),
  waiting: z.number().int(),
  active: z.number().int(),
  delayed: z.number().int(),
  failed: z.number().int(),
  completed: z.number().int(),
  jobs_per_min: z.number().int().describe("jobs finished (completed or failed) in the last 60 seconds"),
  throughput: z.array(z.number().int()).describe("finished jobs per minute over the last 30 minutes, oldest first"),
});

export const runningJob = z.strictObject({ id: z.string(), queue: z.string(), task: z.string(), started_at: z.string() });

export const worker = z.strictObject({
  id: z.string(),
  kind: z.literal("worker"),
  hostname: z.string(),
  role: z.string().nullable(),
  pid: z.number().int(),
  queues: z.array(z.string()),
  concurrency: z.number().int(),
  slots_in_use: z.number().int(),
  version: z.string(),
  started_at: z.string(),
  beat_at: z.string().describe("time of the last heartbeat"),
  processed: z.number().int(),
  failed: z.number().int(),
  current_jobs: z.array(runningJob),
});

export const jobSummary = z.strictObject({
  id: z.string(),
  queue: z.string(),
  task: z.string(),
  state: jobState,
  progress: z.unknown(),
  attempts_made: z.number().int(),
  attempts: z.number().int(),
  created_at: timestamp,
  started_at: timestamp,
  finished_at: timestamp,
  failed_reason: z.string().nullable(),
  target: z.string().nullable(),
  hostname: z.string().nullable(),
});

export const jobDetail = z.strictObject({
  id: z.string(),
  queue: z.string(),
  task: z.string(),
  state: z.string().describe("BullMQ's state: waiting, active, delayed, prioritized, waiting-children, completed, failed or unknown"),
  args: z.record(z.string(), z.unknown()),
  meta: z.record(z.string(), z.unknown()).describe("what llmctl added: source, enqueued_at, target, hostname, timeout_ms, schedule, fire_time"),
  progress: z.unknown(),
  result: z.unknown().describe("the return value, once completed"),
  error: z.strictObject({ message: z.string(), stack: z.string().nullable() }).nullable(),
  attempts_made: z.number().int(),
  attempts: z.number().int(),
  created_at: timestamp,
  started_at: timestamp,
  finished_at: timestamp,
  delay_until: timestamp,
  worker: z.string().nullable(),
  logs: z.array(z.string()),
});

export const taskSummary = z.strictObject({
  name: z.string(),
  description: z.string(),
  queue: z.string().describe("where it goes without targets"),
  timeout: z.string().nullable(),
  attempts: z.number().int(),
  backoff: z.string().nullable(),
  args_schema: z.record(z.string(), z.unknown()).describe("JSON Schema of the arguments"),
});

export const enqueuedJob = z.strictObject({
  id: z.string(),
  queue: z.string(),
  task: z.string(),
  target: z.string().optional(),
  hostname: z.string().optional(),
});

export const responses = {
  queues: z.strictObject({ queues: z.array(queueOverview) }),
  workers: z.strictObject({ workers: z.array(worker) }),
  jobs: z.strictObject({ jobs: z.array(jobSummary), next_cursor: z.string().nullable() }),
  job: jobDetail,
  tasks: z.strictObject({ tasks: z.array(taskSummary) }),
  enqueued: z.strictObject({ jobs: z.array(enqueuedJob) }),
  retried: z.strictObject({ id: z.string(), queue: z.string(), previous_state: z.string() }),
  revoked: z.strictObject({
    id: z.string(),
    queue: z.string(),
    previous_state: z.string(),
    outcome: z.enum(["removed", "aborting", "finished"]).describe("removed: it never ran; aborting: its worker is stopping it; finished: nothing left to stop"),
  }),
  queuePaused: z.strictObject({ queue: z.string(), paused: z.boolean(), was_paused: z.boolean() }),
  session: z.strictObject({
    auth_required: z.boolean().describe("false when the studio runs without a token"),
    public_read: z.boolean(),
    authenticated: z.boolean(),
  }),
  health: z.strictObject({ status: z.enum(["ok", "stuck"]), event_loop_lag_ms: z.number() }),
  ready: z.strictObject({ status: z.enum(["ready", "not ready"]), redis: z.enum(["connected", "disconnected"]) }),
};
