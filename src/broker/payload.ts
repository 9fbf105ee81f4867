/** The data of every llmctl job: the task's arguments and where the job came from. */

export type JobSource = "cli" | "studio" | "beat" | "smoke" | "task" | "api" | "workflow";

export interface JobMeta {
  /** The target as written (role, role:any or queue) when the job came from a fan-out. */
  target?: string;
  role?: string;
  hostname?: string;
  source: JobSource;
  enqueued_at: string;
  /** Run-time limit chosen by the producer from the task's options; the worker enforces it. */
  timeout_ms?: number;
  schedule?: string;
  fire_time?: string;
  /** Set on child jobs (TaskContext.tasks.run): the job waiting for this one, "<queue>/<id>". */
  parent?: string;
  /** How many parents this job has above it; bounded so tools calling tools cannot recurse forever. */
  depth?: number;
}

export interface JobPayload {
  args: Record<string, unknown>;
  meta: JobMeta;
}

/** Jobs from other producers may carry plain data; they are treated as arguments. */
export function readPayload(data: unknown): JobPayload {
  if (data && typeof data === "object" && "args" in data && "meta" in data) {
    const payload = data as Partial<JobPayload>;
    return { args: payload.args ?? {}, meta: payload.meta ?? { source: "api", enqueued_at: "" } };
  }
  return { args: data && typeof data === "object" ? (data as Record<string, unknown>) : {}, meta: { source: "api", enqueued_at: "" } };
}
