import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ensureBinary, llmctl } from "../helpers/cli.ts";
import { tempDir, yaml } from "../helpers/files.ts";

// Real servers and processes: five seconds (the default) is too short on a loaded machine.
setDefaultTimeout(30_000);

const files = tempDir();
beforeAll(() => ensureBinary(), 120_000);
afterAll(() => files.cleanup());

const SUBCOMMANDS = [
  [],
  ["config"],
  ["config", "init"],
  ["config", "validate"],
  ["config", "show"],
  ["config", "edit"],
  ["config", "workers"],
  ["config", "schedules"],
  ["config", "schema"],
  ["worker"],
  ["beat"],
  ["schedule"],
  ["schedule", "list"],
  ["schedule", "pause"],
  ["schedule", "resume"],
  ["schedule", "trigger"],
  ["studio"],
  ["doctor"],
  ["task"],
  ["task", "list"],
  ["task", "status"],
  ["job"],
  ["job", "show"],
  ["job", "logs"],
  ["job", "retry"],
  ["job", "revoke"],
];

describe("dist/llmctl", () => {
  it("prints its version", async () => {
    const result = await llmctl(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^llmctl \d+\.\d+\.\d+\n$/);
  });

  it.each(SUBCOMMANDS)("shows help with examples for `%s`", async (...path) => {
    const result = await llmctl([...path, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage:");
    expect(result.stdout).toContain("Examples:");
    expect(result.stdout).toContain(["llmctl", ...path].join(" "));
  });

  it("rejects an unknown subcommand with usage and exit 2", async () => {
    const result = await llmctl(["confg", "validate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "confg" (did you mean "config"?)');
    expect(result.stderr).toContain("Usage:");
  });

  it("rejects an unknown flag with exit 2", async () => {
    const result = await llmctl(["config", "validate", "--jsn"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown flag --jsn (did you mean "json"?)');
    expect(result.stderr).toContain('Run "llmctl config validate --help"');
  });

  it("rejects surplus arguments and a missing subcommand with exit 2", async () => {
    expect((await llmctl(["config", "validate", "extra"])).code).toBe(2);
    const bare = await llmctl(["config"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('"config" needs a subcommand');
  });

  it("init writes a config that validates, and refuses to overwrite it", async () => {
    const path = join(files.dir, "x.yaml");
    const init = await llmctl(["config", "init", path]);
    expect(init.code).toBe(0);
    expect(readFileSync(path, "utf8").startsWith("# yaml-language-server: $schema=./llmctl.schema.json")).toBe(true);
    expect(existsSync(join(files.dir, "llmctl.schema.json"))).toBe(true);
    const validate = await llmctl(["config", "validate", "-c", path]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain("valid");

    const before = statSync(path).mtimeMs;
    const again = await llmctl(["config", "init", path]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists; nothing was written");
    expect(statSync(path).mtimeMs).toBe(before);
    expect((await llmctl(["config", "init", path, "--force"])).code).toBe(0);
  });

  it("names a bad cron, an unknown target and a typo'd key with line numbers, exit 2", async () => {
    const path = files.file(
      "bad.yaml",
      yaml`
        queues: [llmctl_studio]
        workers:
          webserver: { hostnames: [web01], queue: webserver_tasks }
        schedules:
          nightly:
            cron: "0 2 * * 9"
            task: check_security_updates
            targets: [webservers]
        tasks:
          check_security_updates: { timeout: 10m, atempts: 3 }
      `,
    );
    const result = await llmctl(["config", "validate", "-c", path]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${path}:6:11: error: schedules.nightly.cron: "0 2 * * 9" has an invalid day-of-week field`);
    expect(result.stderr).toContain(`${path}:8:15: error: schedules.nightly.targets[0]: target "webservers" names no role or queue (did you mean "webserver"?)`);
    expect(result.stderr).toContain(`${path}:10:43: error: tasks.check_security_updates.atempts: unknown key "atempts" (did you mean "attempts"?)`);
    expect(result.stderr).toContain("3 errors in");
  });

  it("checks named flowcharts: a cycle at load, then each node's unknown task and bad arguments, at file:line:col, exit 2", async () => {
    const flowchart = (edges: string, nodes = "[{ id: a, task: llmctl.ping }, { id: b, task: llmctl.ping }]") => yaml`
      queues: [llmctl_studio]
      flowcharts:
        rollout:
          nodes: ${nodes}
          edges: ${edges}
    `;
    const cyclic = await llmctl(["config", "validate", "-c", files.file("cyclic.yaml", flowchart("[{ from: a, to: b }, { from: b, to: a }]"))]);
    expect(cyclic.code).toBe(2);
    expect(cyclic.stderr).toContain(":5:33: error: flowcharts.rollout.edges[1]: the edges form a cycle: a → b → a");
    const tasks = await llmctl(["config", "validate", "-c", files.file("tasks.yaml", flowchart("[{ from: a, to: b }]", "[{ id: a, task: llmctl.pnig }, { id: b, task: install, args: { packages: [\"nginx;reboot\"] } }]"))]);
    expect(tasks.code).toBe(2);
    expect(tasks.stderr).toContain(':4:28: error: flowcharts.rollout.nodes[0].task: unknown task "llmctl.pnig" (did you mean "llmctl.ping"?)');
    expect(tasks.stderr).toContain(":4:86: error: flowcharts.rollout.nodes[1].args.packages[0]: invalid arguments for install: packages[0]");
    expect((await llmctl(["config", "validate", "-c", files.file("fine.yaml", flowchart("[{ from: a, to: b, when: { path: result.queue, exists: true } }]"))])).code).toBe(0);
  });

  it("checks every task a schedule or an agent names against the task registry, all at once, exit 2", async () => {
    const path = files.file("references.yaml", yaml`
      queues: [llmctl_studio]
      schedules:
        nightly:
          cron: "0 3 * * *"
          task: services.tasks.cleanup_workspace
        pings:
          cron: "*/5 * * * *"
          task: llmctl.ping
          args: { bogus: 1 }
      agents:
        helper:
          system_prompt: help
          tools: [llmctl.ping, llmctl.pnig]
    `);
    const result = await llmctl(["config", "validate", "-c", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${path}:5:11: error: schedules.nightly.task: unknown task "services.tasks.cleanup_workspace" (did you mean "services.tasks.cleanup_workspaces"?)`);
    expect(result.stderr).toContain(`${path}:9:20: error: schedules.pings.args.bogus: invalid arguments for llmctl.ping: bogus: unknown argument`);
    expect(result.stderr).toContain(`${path}:13:26: error: agents.helper.tools[1]: unknown task "llmctl.pnig" (did you mean "llmctl.ping"?)`);
    expect(result.stderr).toContain("3 errors in");
  });

  it("gives clear messages for missing, empty, binary and unreadable config files", async () => {
    const missing = await llmctl(["config", "validate", "-c", join(files.dir, "nope.yaml")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("does not exist");
    expect(missing.stderr).toContain("llmctl config init");

    const empty = await llmctl(["config", "validate", "-c", files.file("empty.yaml", "")]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("is empty");

    const binary = await llmctl(["config", "validate", "-c", files.file("binary.yaml", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]))]);
    expect(binary.code).toBe(2);
    expect(binary.stderr).toContain("is a binary file");

    const locked = files.file("locked.yaml", "queues: [a]\n");
    chmodSync(locked, 0o000);
    const unreadable = await llmctl(["config", "validate", "-c", locked]);
    chmodSync(locked, 0o644);
    // root reads anything; the check is meaningful only for other users.
    if (process.getuid?.() !== 0) {
      expect(unreadable.code).toBe(2);
      expect(unreadable.stderr).toContain("permission denied");
    } else {
      expect(unreadable.code).toBe(0);
    }
  });

  it("show applies env over file, redacts the password, and --redis-url over env", async () => {
    const path = files.file("show.yaml", "redis:\n  url: redis://file-host:6379/0\nqueues: [a]\n");
    const fromEnv = await llmctl(["config", "show", "-c", path, "--json"], { env: { LLMCTL_REDIS_URL: "redis://:hunter2@env-host:6390/1" } });
    expect(fromEnv.code).toBe(0);
    const shown = JSON.parse(fromEnv.stdout) as { redis: { url: string; origin: Record<string, string> } };
    expect(shown.redis.url).toBe("redis://:***@env-host:6390/1");
    expect(shown.redis.origin.host).toBe("LLMCTL_REDIS_URL");
    expect(fromEnv.stdout).not.toContain("hunter2");

    const fromFlag = await llmctl(["config", "show", "-c", path, "--redis-url", "redis://flag-host:1/2", "--json"], { env: { LLMCTL_REDIS_URL: "redis://env-host:6390/1" } });
    expect((JSON.parse(fromFlag.stdout) as { redis: { url: string } }).redis.url).toBe("redis://flag-host:1/2");

    const yamlOut = await llmctl(["config", "show", "-c", path], { env: { LLMCTL_REDIS_PASSWORD: "hunter2" } });
    expect(yamlOut.stdout).toContain("password: \"***\"");
    expect(yamlOut.stdout).not.toContain("hunter2");
  });

  it("accepts the Celery-era environment names", async () => {
    const result = await llmctl(["config", "show", "--json"], { cwd: files.dir, env: { LLMCTL_CONFIG: join(files.dir, "x.yaml"), CELERY_REDIS_HOST: "llmctl-redis", CELERY_REDIS_PORT: "6390", CELERY_REDIS_BROKER_DB: "0" } });
    expect((JSON.parse(result.stdout) as { redis: { url: string } }).redis.url).toBe("redis://llmctl-redis:6390/0");
  });

  it("lists workers and schedules as tables and JSON", async () => {
    const path = join(files.dir, "x.yaml");
    const workers = await llmctl(["config", "workers", "-c", path, "--json"]);
    expect(JSON.parse(workers.stdout)).toContainEqual({ role: "webserver", queue: "webserver_tasks", hostnames: ["webserver01", "webserver02"], host_queues: ["webserver_tasks.webserver01", "webserver_tasks.webserver02"] });
    const table = await llmctl(["config", "workers", "-c", path]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ROLE\s+QUEUE\s+HOSTNAMES\s+HOST QUEUES$/);

    const schedules = await llmctl(["config", "schedules", "-c", path, "--json"]);
    const rows = JSON.parse(schedules.stdout) as Array<{ name: string; next: string[]; next_utc: string[]; queues: string[] }>;
    const security = rows.find((row) => row.name === "security_updates");
    expect(security?.next).toHaveLength(3);
    expect(security?.next[0]).toMatch(/^\d{4}-\d\d-\d\d 02:00:00 \+00:00$/);
    expect(security?.queues).toEqual(["webserver_tasks.webserver01", "webserver_tasks.webserver02", "database_tasks.database01"]);
  });

  it("edit saves a valid change and keeps the file when the edit is invalid", async () => {
    const path = files.file("edit.yaml", "queues: [a]\n");
    const good = files.file("good-editor.sh", `#!/bin/sh\nprintf 'queues: [a, b]\\n' > "$1"\n`);
    const bad = files.file("bad-editor.sh", `#!/bin/sh\nprintf 'queues: [a]\\nshedules: {}\\n' > "$1"\n`);
    chmodSync(good, 0o755);
    chmodSync(bad, 0o755);

    const saved = await llmctl(["config", "edit", "-c", path], { env: { EDITOR: good, VISUAL: undefined } });
    expect(saved.code).toBe(0);
    expect(readFileSync(path, "utf8")).toBe("queues: [a, b]\n");

    const rejected = await llmctl(["config", "edit", "-c", path], { env: { EDITOR: bad, VISUAL: undefined } });
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toContain('unknown key "shedules"');
    expect(rejected.stderr).toContain("was not changed because the edit has errors; the edit is kept in");
    expect(readFileSync(path, "utf8")).toBe("queues: [a, b]\n");
  });
});
