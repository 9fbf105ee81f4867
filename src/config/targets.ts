/**
 * Target resolution, shared by validation, the producer and beat: a role name fans out to one
 * queue per host (<role queue>.<hostname>), "role:any" is the role queue (any host of the role),
 * and anything else must be a declared queue.
 */
import { didYouMean } from "../util/suggest.ts";

export interface RoleTopology {
  queue: string;
  hostnames: string[];
}

export interface Topology {
  /** The contract queues from `queues:`; the first is the default queue. */
  queues: string[];
  roles: Record<string, RoleTopology>;
}

export interface ResolvedTarget {
  /** The target as written. */
  target: string;
  queue: string;
  role?: string;
  hostname?: string;
}

export interface TargetProblem {
  target: string;
  message: string;
  fix: string;
}

export const ANY_HOST_SUFFIX = ":any";

export function hostQueue(roleQueue: string, hostname: string): string {
  return `${roleQueue}.${hostname}`;
}

/** Every queue a job can be sent to: the contract queues, role queues and host queues. */
export function knownQueues(topology: Topology): Set<string> {
  const queues = new Set(topology.queues);
  for (const role of Object.values(topology.roles)) {
    queues.add(role.queue);
    for (const hostname of role.hostnames) queues.add(hostQueue(role.queue, hostname));
  }
  return queues;
}

export function resolveTarget(topology: Topology, target: string): ResolvedTarget[] | TargetProblem {
  if (target.endsWith(ANY_HOST_SUFFIX)) {
    const roleName = target.slice(0, -ANY_HOST_SUFFIX.length);
    const role = topology.roles[roleName];
    if (!role) {
      return {
        target,
        message: `target "${target}" names no role${didYouMean(roleName, Object.keys(topology.roles))}`,
        fix: `declare the role under workers:, or use one of: ${describeChoices(topology)}`,
      };
    }
    return [{ target, queue: role.queue, role: roleName }];
  }
  const role = topology.roles[target];
  if (role) {
    if (role.hostnames.length === 0) {
      return {
        target,
        message: `role "${target}" has no hostnames to fan out to`,
        fix: `list hostnames under workers.${target}.hostnames, or target "${target}${ANY_HOST_SUFFIX}" to let any host of the role take it`,
      };
    }
    return role.hostnames.map((hostname) => ({ target, queue: hostQueue(role.queue, hostname), role: target, hostname }));
  }
  if (knownQueues(topology).has(target)) return [{ target, queue: target }];
  const candidates = [...Object.keys(topology.roles), ...knownQueues(topology)];
  return {
    target,
    message: `target "${target}" names no role or queue${didYouMean(target, candidates)}`,
    fix: `use one of: ${describeChoices(topology)}`,
  };
}

function describeChoices(topology: Topology): string {
  const roles = Object.keys(topology.roles);
  const parts = [
    roles.length ? `roles ${roles.join(", ")} (or ${roles[0]}${ANY_HOST_SUFFIX})` : "",
    `queues ${[...new Set(topology.queues)].join(", ")}`,
  ];
  return parts.filter(Boolean).join("; ");
}

export function isTargetProblem(value: ResolvedTarget[] | TargetProblem): value is TargetProblem {
  return !Array.isArray(value);
}
