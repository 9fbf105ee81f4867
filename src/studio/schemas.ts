/**
 * The API's request and response shapes. Requests are validated with them, the OpenAPI document
 * is generated from them, and the integration tests check every response against them, so the
 * three cannot drift apart.
 */
import { z } from "zod";
import { LISTED_STATES, MAX_PAGE_SIZE } from "../broker/inspector.ts";
import { QUEUE_NAME, SCHEDULE_NAME, TASK_NAME } from "../config/schema.ts";
import { isDuration } from "../util/duration.ts";

/**
 * Job ids: what llmctl (UUIDs), BullMQ (numbers) and job schedulers ("repeat:…") create. No
 * '/', no "..": an id never reads as a path, whatever decoding a proxy did before us.
 */
export const JOB_ID = /^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$/;

export const jobId = z.string().regex(JOB_ID, "job ids use letters, digits, '_', '.', ':' and '-' (no '/' or '..'), at most 200 characters");
export const queueName = z.string().max(200).regex(QUEUE_NAME, "queue names use letters, digits, '_', '.' and '-'");
export const taskName = z.string().max(200).regex(TASK_NAME, "task names use letters, digits, '_', '.' and '-'");
export const scheduleName = z.string().max(200).regex(SCHEDULE_NAME, "schedule names use letters, digits, '_', '.' and '-'");

export const jobIdParams = z.strictObject({ id: jobId });
export const queueParams = z.strictObject({ name: queueName });
export const taskParams = z.strictObject({ name: taskName });
export const scheduleParams = z.strictObject({ name: scheduleName });

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

export const lease = z
  .strictObject({
    holder: z.string().describe("the id of the beat holding the lease"),
    token: z.number().int().describe("its fencing token"),
    expires_in_ms: z.number().int().describe("when the lease ends unless renewed"),
  })
  .describe("the active beat, which dispatches every schedule");

export const beat = z.strictObject({
  id: z.string(),
  kind: z.literal("beat"),
  hostname: z.string(),
  pid: z.number().int(),
  version: z.string(),
  started_at: z.string(),
  beat_at: z.string().describe("time of the last heartbeat"),
  role: z.enum(["active", "standby", "disconnected"]).describe("active: holds the lease and dispatches; standby: waits for it; disconnected: cannot reach Redis"),
  lease_token: z.number().int().nullable(),
  schedules: z.number().int().describe("enabled schedules in this beat's config"),
  dispatched: z.number().int().describe("jobs this process dispatched since it started"),
  last_dispatch_at: timestamp,
});

export const schedule = z.strictObject({
  name: z.string(),
  in_config: z.boolean().describe("false for state left in Redis by a schedule since removed from the config"),
  enabled: z.boolean(),
  cron: z.string().nullable(),
  timezone: z.string().nullable(),
  task: z.string().nullable().describe("the task, or 'steps: a → b' for a workflow"),
  targets: z.array(z.string()),
  catchup: z.string().nullable(),
  overlap: z.string().nullable(),
  paused: z.boolean(),
  paused_at: timestamp,
  next_fire_time: timestamp,
  last_fire_time: timestamp.describe("fire time of the last dispatch (cron, catch-up or trigger)"),
  last_dispatched_at: timestamp,
  last_kind: z.enum(["cron", "catchup", "trigger"]).nullable(),
  last_dispatched_by: z.string().nullable().describe("a beat id, or cli/studio for a trigger"),
  last_jobs: z.array(
    z.strictObject({
      id: z.string(),
      queue: z.string(),
      task: z.string(),
      target: z.string().optional(),
      hostname: z.string().optional(),
      state: z.string().describe("the job's state now; removed once cleaned up"),
      error: z.string().nullable(),
    }),
  ),
  last_skip: z
    .strictObject({ fire_time: z.string(), reason: z.enum(["paused", "missed", "overlap", "catchup limit", "disabled"]), at: z.string() })
    .nullable(),
  handled_until: timestamp.describe("the last cron fire time a beat handled, by dispatching or skipping it"),
  lag_ms: z
    .number()
    .int()
    .nullable()
    .describe("how long the oldest fire time no beat has handled has been due: 0 while beat keeps up; null before a beat counted this schedule"),
  lease: lease.nullable(),
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
  schedules: z.strictObject({ schedules: z.array(schedule), beats: z.array(beat).describe("live beats, oldest first"), lease: lease.nullable() }),
  schedulePaused: z.strictObject({ schedule: z.string(), paused: z.boolean(), was_paused: z.boolean() }),
  triggered: z.strictObject({ schedule: z.string(), fire_time: z.string(), jobs: z.array(enqueuedJob) }),
  session: z.strictObject({
    auth_required: z.boolean().describe("false when the studio runs without a token"),
    public_read: z.boolean(),
    authenticated: z.boolean(),
  }),
  health: z.strictObject({ status: z.enum(["ok", "stuck"]), event_loop_lag_ms: z.number() }),
  ready: z.strictObject({ status: z.enum(["ready", "not ready"]), redis: z.enum(["connected", "disconnected"]) }),
};
