import { describe, expect, it } from "bun:test";
import type { Diagnostic } from "../../../src/config/diagnostics.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { configErrors } from "../../helpers/config.ts";
import { yaml } from "../../helpers/files.ts";

const NOW = new Date("2026-11-22T00:00:00Z");

function errorsOf(text: string): Diagnostic[] {
  return configErrors(text, NOW);
}

const BASE = yaml`
  queues: [llmctl_studio]
  workers:
    webserver: { hostnames: [web01, web02], queue: webserver_tasks }
`;

describe("schedules with steps (workflows)", () => {
  it("accepts steps with their own args and targets, and defaults their args", () => {
    const { config } = parseConfig(
      BASE +
        yaml`
          schedules:
            deploy:
              cron: "0 3 * * *"
              steps:
                - { name: fetch, task: llmctl.ping, targets: [webserver] }
                - task: shell
                  args: { argv: [/bin/true] }
                  targets: ["webserver:any"]
        `,
      "test.yaml",
      { now: NOW },
    );
    const schedule = config.schedules.deploy!;
    expect(schedule.task).toBeUndefined();
    expect(schedule.steps?.map((step) => step.task)).toEqual(["llmctl.ping", "shell"]);
    expect(schedule.steps?.[0]?.args).toEqual({});
  });

  it("rejects a schedule with neither task nor steps, or both, with file:line:col", () => {
    const neither = errorsOf(BASE + yaml`
      schedules:
        nothing: { cron: "0 3 * * *" }
    `);
    expect(neither.map((d) => `${d.line}:${d.message}`)).toEqual(['5:schedule "nothing" names no task']);
    const both = errorsOf(BASE + yaml`
      schedules:
        both:
          cron: "0 3 * * *"
          task: llmctl.ping
          steps: [{ task: llmctl.ping }]
    `);
    expect(both).toHaveLength(1);
    expect(both[0]!.message).toBe('schedule "both" has both task and steps');
    expect(both[0]!.line).toBe(8);
  });

  it("rejects schedule-level args or targets next to steps, and repeated step names", () => {
    const errors = errorsOf(BASE + yaml`
      schedules:
        wf:
          cron: "0 3 * * *"
          targets: [webserver]
          steps:
            - { name: a, task: llmctl.ping }
            - { name: a, task: llmctl.ping }
    `);
    expect(errors.map((d) => d.path)).toEqual(["schedules.wf.targets", "schedules.wf.steps[1].name"]);
  });

  it("resolves the targets of every step and names the bad one with its position", () => {
    const errors = errorsOf(BASE + yaml`
      schedules:
        wf:
          cron: "0 3 * * *"
          steps:
            - { task: llmctl.ping, targets: [webserver] }
            - { task: llmctl.ping, targets: [webservr] }
    `);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe("schedules.wf.steps[1].targets[0]");
    expect(errors[0]!.message).toContain('did you mean "webserver"');
    expect(`${errors[0]!.line}:${errors[0]!.column}`).toBe("9:40");
  });

  it("refuses an empty steps list, an unknown key in a step, and max_catchup out of range", () => {
    const errors = errorsOf(BASE + yaml`
      schedules:
        empty: { cron: "0 3 * * *", steps: [] }
        typo: { cron: "0 3 * * *", steps: [{ task: llmctl.ping, target: [webserver] }] }
        catchup: { cron: "0 3 * * *", task: llmctl.ping, catchup: all, max_catchup: 0 }
    `);
    const paths = errors.map((d) => d.path);
    expect(paths).toContain("schedules.empty.steps");
    expect(paths.some((path) => path.startsWith("schedules.typo.steps[0]"))).toBe(true);
    expect(paths).toContain("schedules.catchup.max_catchup");
  });

  it("bounds the beat lease between 1s and 5m", () => {
    expect(parseConfig(BASE + "beat: { lease_ttl: 3s }\n", "test.yaml", { now: NOW }).config.beat.lease_ttl).toBe("3s");
    expect(parseConfig(BASE, "test.yaml", { now: NOW }).config.beat).toEqual({ lease_ttl: "10s", heartbeat: "5s" });
    expect(errorsOf(BASE + "beat: { lease_ttl: 100ms }\n").map((d) => d.path)).toEqual(["beat.lease_ttl"]);
  });
});
