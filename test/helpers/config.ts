import { parseConfig, type LoadedConfig } from "../../src/config/load.ts";
import { resolveRedisTarget } from "../../src/config/redis-target.ts";

/** A loaded config from YAML text, pointing at the given Redis URL. */
export function loadedConfig(text: string, redisUrl: string): LoadedConfig {
  const { config, warnings } = parseConfig(text, "test.yaml");
  return { source: "--config", config, redis: resolveRedisTarget({ env: {}, flagUrl: redisUrl }), warnings };
}

export const FIVE_QUEUES = `
prefix: t
queues: [q1, q2, q3, q4, q5]
workers:
  web: { hostnames: [w1, w2], queue: web_q }
worker: { heartbeat: 500ms, lock_duration: 2s, stalled_interval: 1s }
`;
