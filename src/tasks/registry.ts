/**
 * The tasks a process knows, with their effective options: the config's `tasks:` entry wins
 * over the task's own defaults, and the queue follows routes → task option → task default →
 * the default queue.
 */
import type { ConfigFile } from "../config/schema.ts";
import { routedQueue } from "../config/report.ts";
import { parseDurationMs } from "../util/duration.ts";
import { UsageError } from "../util/errors.ts";
import { didYouMean } from "../util/suggest.ts";
import { argsJsonSchema } from "./args.ts";
import type { Backoff, TaskDefinition } from "./define.ts";

export const DEFAULT_BACKOFF_DELAY_MS = 1000;

export interface EffectiveTaskOptions {
  queue: string;
  timeoutMs?: number;
  attempts: number;
  backoff?: { type: "fixed" | "exponential"; delay: number };
  priority?: number;
}

function backoffOptions(backoff: Backoff | undefined): EffectiveTaskOptions["backoff"] {
  if (!backoff) return undefined;
  if (typeof backoff === "string") return { type: backoff, delay: DEFAULT_BACKOFF_DELAY_MS };
  return { type: backoff.type, delay: parseDurationMs(backoff.delay) ?? DEFAULT_BACKOFF_DELAY_MS };
}

export interface TaskSummary {
  name: string;
  description: string;
  queue: string;
  timeout: string | null;
  attempts: number;
  backoff: string | null;
  args_schema: Record<string, unknown>;
}

export class TaskRegistry {
  private readonly tasks = new Map<string, TaskDefinition>();

  constructor(
    definitions: Iterable<TaskDefinition>,
    private readonly config: ConfigFile,
  ) {
    for (const definition of definitions) {
      if (this.tasks.has(definition.name)) {
        throw new UsageError(`task "${definition.name}" is defined twice`, "rename one of them; task names are unique");
      }
      this.tasks.set(definition.name, definition);
    }
  }

  get(name: string): TaskDefinition | undefined {
    return this.tasks.get(name);
  }

  /** The task, or a UsageError naming the closest known task. */
  require(name: string): TaskDefinition {
    const task = this.tasks.get(name);
    if (!task) {
      throw new UsageError(`unknown task "${name}"${didYouMean(name, this.tasks.keys())}`, "see the registered tasks with: llmctl task list");
    }
    return task;
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }

  list(): TaskDefinition[] {
    return this.names().map((name) => this.tasks.get(name)!);
  }

  options(name: string): EffectiveTaskOptions {
    const task = this.require(name);
    const configured = this.config.tasks[name] ?? {};
    const timeout = configured.timeout ?? task.timeout;
    return {
      queue: routedQueue(this.config, name, task.queue),
      timeoutMs: timeout ? parseDurationMs(timeout) : undefined,
      attempts: configured.attempts ?? task.attempts ?? 1,
      backoff: backoffOptions(configured.backoff ?? task.backoff),
      priority: configured.priority,
    };
  }

  summary(name: string): TaskSummary {
    const task = this.require(name);
    const options = this.options(name);
    const configured = this.config.tasks[name] ?? {};
    const backoff = configured.backoff ?? task.backoff;
    return {
      name,
      description: configured.description ?? task.description ?? "",
      queue: options.queue,
      timeout: configured.timeout ?? task.timeout ?? null,
      attempts: options.attempts,
      backoff: backoff === undefined ? null : typeof backoff === "string" ? backoff : `${backoff.type} ${backoff.delay}`,
      args_schema: argsJsonSchema(task),
    };
  }

  /** Config entries under `tasks:` that configure no registered task (likely a typo). */
  unknownConfiguredTasks(): string[] {
    return Object.keys(this.config.tasks).filter((name) => !this.tasks.has(name));
  }
}
