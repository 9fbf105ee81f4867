/**
 * Which queues a worker consumes. `all` is the queue contract; --role adds the role queue and
 * --hostname the host's own queue. A fleet host started with only --role consumes just its
 * role's queues, as a Celery worker started with -Q webserver_tasks,webserver_tasks.web01 did.
 */
import type { ConfigFile } from "../config/schema.ts";
import { topologyOf } from "../config/report.ts";
import { hostQueue, knownQueues } from "../config/targets.ts";
import { FlagError } from "../util/errors.ts";
import { didYouMean } from "../util/suggest.ts";

export interface QueueSelection {
  /** "all", or a comma-separated list; undefined = all, or only the role's queues with --role. */
  queues?: string;
  role?: string;
  hostname: string;
}

export function selectWorkerQueues(config: ConfigFile, selection: QueueSelection): string[] {
  const known = knownQueues(topologyOf(config));
  const selected = new Set<string>();
  const requested = selection.queues?.trim();
  if (requested === undefined || requested === "") {
    if (!selection.role) for (const queue of config.queues) selected.add(queue);
  } else {
    for (const name of requested.split(",").map((part) => part.trim()).filter(Boolean)) {
      if (name === "all") {
        for (const queue of config.queues) selected.add(queue);
      } else if (known.has(name)) {
        selected.add(name);
      } else {
        throw new FlagError(`--queues: unknown queue "${name}"${didYouMean(name, known)}`, `use "all" or queues from the config: ${config.queues.join(", ")}`);
      }
    }
  }
  if (selection.role) {
    const role = config.workers[selection.role];
    if (!role) {
      const roles = Object.keys(config.workers);
      throw new FlagError(`--role: unknown role "${selection.role}"${didYouMean(selection.role, roles)}`, roles.length ? `roles: ${roles.join(", ")}` : "declare roles under workers: in the config");
    }
    if (!role.hostnames.includes(selection.hostname)) {
      throw new FlagError(
        `hostname "${selection.hostname}" is not listed under workers.${selection.role}.hostnames (${role.hostnames.join(", ") || "none"})`,
        "pass --hostname with a listed name, or add this host to the role in the config",
      );
    }
    selected.add(role.queue);
    selected.add(hostQueue(role.queue, selection.hostname));
  }
  if (selected.size === 0) throw new FlagError("no queues to consume", 'pass --queues all, a list of queues, or --role');
  return [...selected];
}
