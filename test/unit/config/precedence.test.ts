import { afterAll, describe, expect, it } from "bun:test";
import { loadConfig, BUILTIN_CONFIG_NAME } from "../../../src/config/load.ts";
import { describeRedisTarget } from "../../../src/config/redis-target.ts";
import { effectiveConfig } from "../../../src/config/report.ts";
import { UsageError } from "../../../src/util/errors.ts";
import { tempDir, yaml } from "../../helpers/files.ts";

const files = tempDir();
afterAll(() => files.cleanup());

const configPath = files.file(
  "llmctl.yaml",
  yaml`
    redis:
      url: redis://file-host:6000/3
    queues: [a]
    workers:
      web: { hostnames: [h1], queue: web_q }
    environments:
      prod:
        redis:
          url: redis://prod-host:6390/0
        workers:
          web: { hostnames: [p1, p2], queue: web_q }
  `,
);
const secretFile = files.file("password", "from-file\n");

function load(env: Record<string, string>, options: { environment?: string; redisUrl?: string; configPath?: string } = {}) {
  return loadConfig({ configPath: configPath, env, cwd: files.dir, ...options });
}

function real(target: ReturnType<typeof load>["redis"]) {
  if (target.kind !== "redis") throw new Error("expected a real Redis target");
  return target;
}

describe("configuration precedence: flag > env > file > default", () => {
  it("uses the file when nothing overrides it", () => {
    const redis = real(load({}).redis);
    expect([redis.host, redis.port, redis.db]).toEqual(["file-host", 6000, 3]);
    expect(redis.origin.host).toBe("file");
  });

  it("uses the default when the file says nothing", () => {
    const path = files.file("bare.yaml", "queues: [a]\n");
    const redis = real(load({}, { configPath: path }).redis);
    expect(describeRedisTarget(redis)).toBe("redis://localhost:6379/0");
    expect(redis.configured).toBe(false);
  });

  it("lets LLMCTL_REDIS_URL replace the file's URL", () => {
    const redis = real(load({ LLMCTL_REDIS_URL: "redis://env-host:7000/5" }).redis);
    expect([redis.host, redis.port, redis.db]).toEqual(["env-host", 7000, 5]);
    expect(redis.origin.url).toBe("LLMCTL_REDIS_URL");
  });

  it("lets LLMCTL_REDIS_HOST/_PORT/_DB/_PASSWORD override parts", () => {
    const redis = real(load({ LLMCTL_REDIS_HOST: "h", LLMCTL_REDIS_PORT: "1234", LLMCTL_REDIS_DB: "2", LLMCTL_REDIS_PASSWORD: "pw" }).redis);
    expect([redis.host, redis.port, redis.db, redis.password]).toEqual(["h", 1234, 2, "pw"]);
    expect(redis.origin.port).toBe("LLMCTL_REDIS_PORT");
  });

  it("accepts the Celery-era names, and the LLMCTL_ name wins when both are set", () => {
    const celery = real(load({ CELERY_REDIS_HOST: "celery", CELERY_REDIS_PORT: "6390", CELERY_REDIS_BROKER_DB: "4" }).redis);
    expect([celery.host, celery.port, celery.db]).toEqual(["celery", 6390, 4]);
    const both = real(load({ CELERY_REDIS_HOST: "celery", LLMCTL_REDIS_HOST: "llmctl" }).redis);
    expect(both.host).toBe("llmctl");
  });

  it("lets --redis-url override the environment", () => {
    const redis = real(load({ LLMCTL_REDIS_URL: "redis://env-host:7000/5", LLMCTL_REDIS_HOST: "x" }, { redisUrl: "redis://flag-host:1/1" }).redis);
    expect(redis.host).toBe("flag-host");
    expect(redis.origin.host).toBe("--redis-url");
  });

  it("applies the environment selected by --env over the file, and LLMCTL_ENV when no flag is given", () => {
    const byFlag = load({}, { environment: "prod" });
    expect(real(byFlag.redis).host).toBe("prod-host");
    expect(byFlag.config.workers.web?.hostnames).toEqual(["p1", "p2"]);
    expect(real(load({ LLMCTL_ENV: "prod" }).redis).host).toBe("prod-host");
    expect(real(load({ LLMCTL_ENV: "prod", LLMCTL_REDIS_HOST: "env-wins" }).redis).host).toBe("env-wins");
  });

  it("rejects an unknown environment with the list of known ones", () => {
    expect(() => load({}, { environment: "prdo" })).toThrow('environment "prdo" is not defined (did you mean "prod"?)');
  });

  it("rejects malformed env values naming the variable", () => {
    expect(() => load({ LLMCTL_REDIS_PORT: "abc" })).toThrow('LLMCTL_REDIS_PORT="abc" is not a whole number');
    expect(() => load({ LLMCTL_REDIS_URL: "http://x" })).toThrow(UsageError);
  });

  it("finds the config through --config, then $LLMCTL_CONFIG, then ./llmctl.yaml, then the built-in contract", () => {
    const other = files.file("other.yaml", "queues: [from_env]\n");
    expect(load({ LLMCTL_CONFIG: other }).config.queues).toEqual(["a"]);
    expect(loadConfig({ env: { LLMCTL_CONFIG: other }, cwd: files.dir }).config.queues).toEqual(["from_env"]);
    expect(loadConfig({ env: {}, cwd: files.dir }).path).toBe(configPath);
    const empty = tempDir();
    try {
      const builtin = loadConfig({ env: {}, cwd: empty.dir });
      expect(builtin.source).toBe("built-in");
      expect(builtin.config.queues[0]).toBe("llmctl_studio");
      expect(BUILTIN_CONFIG_NAME).toContain("built-in");
      empty.file("cl.yaml", "queues: [from_cl]\n");
      expect(loadConfig({ env: {}, cwd: empty.dir }).config.queues).toEqual(["from_cl"]);
    } finally {
      empty.cleanup();
    }
  });

  it("reads redis.password_file and never shows the password", () => {
    const path = files.file("with-secret.yaml", `redis:\n  url: redis://h:1/0\n  password_file: ${secretFile}\nqueues: [a]\n`);
    const loaded = loadConfig({ configPath: path, env: {} });
    expect(real(loaded.redis).password).toBe("from-file");
    const shown = JSON.stringify(effectiveConfig(loaded));
    expect(shown).not.toContain("from-file");
    expect(shown).toContain("redis://:***@h:1/0");
  });

  it("accepts embedded and embedded:///path", () => {
    const memory = load({ LLMCTL_REDIS_URL: "embedded" }).redis;
    expect(memory.kind).toBe("embedded");
    expect(memory.kind === "embedded" && memory.path).toBeUndefined();
    expect(load({ LLMCTL_REDIS_URL: "embedded:///var/lib/llmctl/store.json" }).redis).toMatchObject({ kind: "embedded", path: "/var/lib/llmctl/store.json" });
  });
});
