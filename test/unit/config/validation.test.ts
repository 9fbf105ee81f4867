import { describe, expect, it } from "bun:test";
import type { Diagnostic } from "../../../src/config/diagnostics.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { configErrors } from "../../helpers/config.ts";
import { yaml } from "../../helpers/files.ts";

const NOW = new Date("2026-11-22T00:00:00Z");

function errorsOf(text: string): Diagnostic[] {
  return configErrors(text, NOW);
}

function warningsOf(text: string): Diagnostic[] {
  return parseConfig(text, "test.yaml", { now: NOW }).warnings;
}

const BASE = yaml`
  queues: [llmctl_studio, other]
  workers:
    webserver:
      hostnames: [web01, web02]
      queue: webserver_tasks
`;

describe("config validation", () => {
  it("accepts the shape DESIGN.md shows", () => {
    const { config } = parseConfig(
      yaml`
        redis:
          url: redis://localhost:6379/0
        prefix: llmctl
        queues:
          - llmctl_studio
          - llmctl_studio.downloads.huggingface
        routes:
          services.tasks.run_huggingface_download_task: llmctl_studio.downloads.huggingface
        workers:
          webserver:
            hostnames: [webserver01, webserver02]
            queue: webserver_tasks
        schedules:
          security_updates:
            cron: "0 2 * * *"
            timezone: UTC
            task: check_security_updates
            targets: [webserver]
            description: Daily security update check
            enabled: true
        tasks:
          check_security_updates: { timeout: 10m, attempts: 3, backoff: exponential }
      `,
      "test.yaml",
      { now: NOW },
    );
    expect(config.schedules.security_updates?.catchup).toBe("skip");
    expect(config.schedules.security_updates?.max_catchup).toBe(100);
    expect(config.workers.webserver?.hostnames).toEqual(["webserver01", "webserver02"]);
  });

  it("reports YAML syntax errors with line and column", () => {
    const [error] = errorsOf("queues: [a\nroutes: {}\n");
    expect(error?.message).toContain("YAML syntax");
    expect(error?.line).toBeGreaterThan(0);
  });

  it("reports an unknown key at the key with a did-you-mean", () => {
    const [error] = errorsOf(`${BASE}shedules: {}\n`);
    expect(error).toMatchObject({ line: 6, column: 1, path: "shedules" });
    expect(error?.message).toBe('unknown key "shedules" (did you mean "schedules"?)');
    expect(error?.fix).toBe('rename it to "schedules"');
  });

  it("reports an unknown nested key and lists what is allowed when nothing is close", () => {
    const [error] = errorsOf(`${BASE}tasks:\n  t: { zzz: 1 }\n`);
    expect(error?.path).toBe("tasks.t.zzz");
    expect(error?.fix).toContain("timeout");
  });

  it("names the bad cron field", () => {
    const [error] = errorsOf(`${BASE}schedules:\n  s:\n    cron: "0 25 * * *"\n    task: t\n`);
    expect(error).toMatchObject({ line: 8, column: 11, path: "schedules.s.cron" });
    expect(error?.message).toContain("invalid hour field");
  });

  it("rejects cron with 4 or 7 fields and accepts 6 with seconds", () => {
    expect(errorsOf(`${BASE}schedules:\n  s: { cron: "* * * *", task: t }\n`)[0]?.message).toContain("has 4 fields");
    expect(errorsOf(`${BASE}schedules:\n  s: { cron: "* * * * * * *", task: t }\n`)[0]?.message).toContain("has 7 fields");
    expect(() => parseConfig(`${BASE}schedules:\n  s: { cron: "*/5 * * * * *", task: t }\n`, "t.yaml", { now: NOW })).not.toThrow();
  });

  it("rejects a time zone that is not IANA, suggesting the closest", () => {
    const [error] = errorsOf(`${BASE}schedules:\n  s: { cron: "0 2 * * *", timezone: Europe/Berln, task: t }\n`);
    expect(error?.message).toBe('"Europe/Berln" is not an IANA time zone (did you mean "Europe/Berlin"?)');
  });

  it("rejects targets that name no role or queue", () => {
    const [error] = errorsOf(`${BASE}schedules:\n  s: { cron: "0 2 * * *", task: t, targets: [webservr] }\n`);
    expect(error?.message).toBe('target "webservr" names no role or queue (did you mean "webserver"?)');
    expect(error?.path).toBe("schedules.s.targets[0]");
  });

  it("accepts roles, role:any, contract queues and host queues as targets", () => {
    const text = `${BASE}schedules:\n  s: { cron: "0 2 * * *", task: t, targets: [webserver, "webserver:any", other, webserver_tasks.web01] }\n`;
    expect(() => parseConfig(text, "t.yaml", { now: NOW })).not.toThrow();
  });

  it("rejects x:any where x is not a role", () => {
    expect(errorsOf(`${BASE}schedules:\n  s: { cron: "0 2 * * *", task: t, targets: ["db:any"] }\n`)[0]?.message).toContain('target "db:any" names no role');
  });

  it("rejects routes to undeclared queues", () => {
    const [error] = errorsOf(`${BASE}routes:\n  some.task: nowhere\n`);
    expect(error?.message).toContain('goes to queue "nowhere", which is not declared');
  });

  it("rejects duplicate queue names", () => {
    const [error] = errorsOf("queues: [a, b, a]\n");
    expect(error).toMatchObject({ path: "queues[2]", line: 1 });
    expect(error?.message).toContain("declared twice");
  });

  it("rejects a role queue that collides with a contract queue", () => {
    const [error] = errorsOf("queues: [a, b]\nworkers:\n  web:\n    hostnames: [h1]\n    queue: b\n");
    expect(error?.message).toContain('role "web" uses queue "b", which is already a contract queue');
    expect(error?.line).toBe(5);
  });

  it("rejects a host queue that collides with a contract queue", () => {
    expect(errorsOf("queues: [web.h1]\nworkers:\n  web:\n    hostnames: [h1]\n    queue: web\n")[0]?.message).toContain("collides with a contract queue");
  });

  it("rejects two roles sharing a queue", () => {
    expect(errorsOf("queues: [a]\nworkers:\n  web: { queue: q }\n  db: { queue: q }\n")[0]?.message).toContain('share queue "q"');
  });

  it("warns with dates when a DST change skips or repeats a local fire time", () => {
    const warnings = warningsOf(`${BASE}schedules:\n  s: { cron: "30 2 * * *", timezone: Europe/Berlin, task: t }\n`);
    expect(warnings.map((w) => w.message)).toEqual([
      "local time 02:30 does not exist on 2027-03-28 in Europe/Berlin (clocks go forward); it runs once, shifted forward by the gap",
      "local time 02:30 happens twice on 2027-10-31 in Europe/Berlin (clocks go back); it runs once, at the first occurrence",
    ]);
    expect(warnings[0]?.severity).toBe("warning");
  });

  it("does not warn about DST for UTC or for times outside the change hour", () => {
    expect(warningsOf(`${BASE}schedules:\n  s: { cron: "30 2 * * *", timezone: UTC, task: t }\n`)).toEqual([]);
    expect(warningsOf(`${BASE}schedules:\n  s: { cron: "30 4 * * *", timezone: America/New_York, task: t }\n`)).toEqual([]);
  });

  it("reports every error at once, sorted by line", () => {
    const errors = errorsOf(yaml`
      queues: [a]
      workers:
        web: { hostnames: [h1], queue: web_q }
      shedules: {}
      schedules:
        s:
          cron: "61 2 * * *"
          task: t
          targets: [nope]
          catchup: alll
    `);
    expect(errors.map((e) => e.path)).toEqual(["shedules", "schedules.s.cron", "schedules.s.targets[0]", "schedules.s.catchup"]);
    expect(errors.map((e) => e.line)).toEqual([4, 7, 9, 10]);
  });

  it("explains wrong types, enum values and durations", () => {
    const errors = errorsOf(`${BASE}tasks:\n  t: { timeout: 10, attempts: many, backoff: expo }\n`);
    expect(errors.find((e) => e.path === "tasks.t.timeout")?.fix).toContain("duration with a unit");
    expect(errors.find((e) => e.path === "tasks.t.attempts")?.message).toBe('expected a number, got the string "many"');
    expect(errors.find((e) => e.path === "tasks.t.backoff")?.fix).toContain('"exponential"');
  });

  it("reports a missing required key at its parent", () => {
    const [error] = errorsOf(`${BASE}schedules:\n  s: { task: llmctl.ping }\n`);
    expect(error?.message).toBe('missing required key "cron"');
  });

  it("rejects an empty queue list and a top level that is not a mapping", () => {
    expect(errorsOf("queues: []\n")[0]?.message).toBe("declare at least one queue");
    expect(errorsOf("- a\n- b\n")[0]?.message).toContain("top level must be a mapping");
  });

  it("rejects an unsupported Redis URL at its position and warns about a password in it", () => {
    expect(errorsOf("redis:\n  url: http://x\nqueues: [a]\n")[0]).toMatchObject({ line: 2, column: 8 });
    const [warning] = warningsOf("redis:\n  url: redis://:secret@x:6379/0\nqueues: [a]\n");
    expect(warning?.message).toContain("holds a password");
  });

  it("checks roles and targets of every environment", () => {
    const errors = errorsOf(yaml`
      queues: [a]
      environments:
        prod:
          workers:
            web: { hostnames: [h1], queue: a }
    `);
    expect(errors[0]?.path).toBe("environments.prod.workers.web.queue");
  });
});
