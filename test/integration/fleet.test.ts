/**
 * install, check_security_updates and service, running real executables that print what apt,
 * dnf, apk and systemctl print (test/helpers/fake-tools.ts), found through fleet.path.
 */
import { afterAll, beforeEach, describe, expect, it, setDefaultTimeout } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { planEnqueue, EnqueueError } from "../../src/broker/producer.ts";
import { loadTaskRegistry } from "../../src/tasks/load.ts";
import checkSecurityUpdates from "../../src/tasks/builtin/check-security-updates.ts";
import install from "../../src/tasks/builtin/install.ts";
import service from "../../src/tasks/builtin/service.ts";
import type { TaskDefinition } from "../../src/tasks/define.ts";
import { tempDir } from "../helpers/files.ts";
import {
  APK_SIMULATE_ADD,
  APK_UPGRADABLE,
  APT_INSTALL,
  APT_SIMULATE_INSTALL,
  APT_SIMULATE_UPGRADE,
  APT_UPDATE,
  DNF4_SECURITY,
  DNF5_SECURITY,
  DNF_ASSUMENO_INSTALL,
  SYSTEMCTL_SHOW_NOT_FOUND,
  SYSTEMCTL_SHOW_RUNNING,
  fakeTools,
} from "../helpers/fake-tools.ts";
import { expectStopsWithinASecond, handlerContext } from "../helpers/task-context.ts";

setDefaultTimeout(15_000);

const files = tempDir("llmctl-fleet-");
const tools = fakeTools(join(files.dir, "bin"));
const CONFIG = `queues: [llmctl_studio]\nfleet: { path: ${tools.dir} }\n`;

function run(task: TaskDefinition, args: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const context = handlerContext(args, CONFIG, signal);
  return Promise.resolve(task.handler(context as never)) as Promise<Record<string, unknown>>;
}

beforeEach(() => tools.reset());
afterAll(() => files.cleanup());

describe("install", () => {
  it("simulates with apt (dry_run) and reports what would be installed", async () => {
    tools.tool("apt-get", [{ when: "install -s --no-install-recommends nginx", stdout: APT_SIMULATE_INSTALL }]);
    const result = await run(install, { packages: ["nginx"], dry_run: true });
    expect(result).toMatchObject({
      manager: "apt",
      dry_run: true,
      changes: [
        { name: "nginx-common", version: "1.22.1-9+deb12u1", action: "install" },
        { name: "nginx", version: "1.22.1-9+deb12u1", action: "install" },
      ],
    });
    expect(tools.calls()).toEqual(["apt-get install -s --no-install-recommends nginx"]);
  });

  it("installs with apt, non-interactively, and reports installed and already-present packages", async () => {
    tools.tool("apt-get", [{ when: "install -y --no-install-recommends nginx curl", stdout: APT_INSTALL }]);
    const result = await run(install, { packages: ["nginx", "curl"], dry_run: false });
    expect(result).toMatchObject({ changes: [{ name: "nginx-common" }, { name: "nginx" }], already_installed: ["curl"] });
  });

  it("uses dnf where there is no apt-get, taking its aborted --assumeno transaction as the dry run", async () => {
    tools.tool("dnf", [{ when: "install --assumeno nginx", stdout: DNF_ASSUMENO_INSTALL, stderr: "Operation aborted.\n", exit: 1 }]);
    const result = await run(install, { packages: ["nginx"], dry_run: true });
    expect(result).toMatchObject({
      manager: "dnf",
      changes: [
        { name: "nginx", version: "1:1.20.1-16.el9_4.1", action: "install" },
        { name: "nginx-core", version: "1:1.20.1-16.el9_4.1", action: "install" },
        { name: "nginx-filesystem", version: "1:1.20.1-16.el9_4.1", action: "install" },
        { name: "redhat-logos-httpd", version: "90.4-2.el9", action: "install" },
      ],
    });
  });

  it("uses apk on Alpine", async () => {
    tools.tool("apk", [{ when: "add --simulate nginx", stdout: APK_SIMULATE_ADD }]);
    const result = await run(install, { packages: ["nginx"], dry_run: true });
    expect(result).toMatchObject({ manager: "apk", changes: [{ name: "pcre", version: "8.45-r3" }, { name: "nginx", version: "1.26.2-r4" }, { name: "nginx-openrc", version: "1.26.2-r4" }] });
  });

  it("fails with the package manager's own reason", async () => {
    tools.tool("apt-get", [{ when: "*nosuchpkg*", stdout: "Reading package lists...\n", stderr: "E: Unable to locate package nosuchpkg\n", exit: 100 }]);
    await expect(run(install, { packages: ["nosuchpkg"], dry_run: false })).rejects.toThrow("apt-get install exited with code 100: E: Unable to locate package nosuchpkg");
  });

  it("says 'not supported here' without any package manager", async () => {
    await expect(run(install, { packages: ["nginx"], dry_run: true })).rejects.toThrow(`not supported here: no apt-get, dnf or apk on this host (searched fleet.path: ${tools.dir})`);
  });

  it("is stopped within a second when aborted, its process killed", async () => {
    tools.tool("apt-get", [{ when: "install*", stdout: "Reading package lists...\n", sleep: 30 }]);
    await expectStopsWithinASecond((signal) => run(install, { packages: ["nginx"], dry_run: false }, signal));
  });

  it.each([["nginx; rm -rf /"], ["$(reboot)"], ["-oAPT::Get::Assume-Yes=1"], ["a b"], ["pkg|tee"]])("rejects the package name %p at enqueue", async (name) => {
    const config = parseConfig(CONFIG, "t.yaml").config;
    const registry = await loadTaskRegistry(config);
    let failure: unknown;
    try {
      planEnqueue(config, registry, "install", { packages: ["curl", name] });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(EnqueueError);
    expect((failure as EnqueueError).field).toBe("args.packages[1]");
    expect((failure as Error).message).toContain("invalid arguments for install: packages[1]: a package name");
  });
});

describe("check_security_updates", () => {
  it("refreshes apt's lists and reports the updates from -security origins", async () => {
    tools.tool("apt-get", [
      { when: "update -q", stdout: APT_UPDATE },
      { when: "-s -q -o Debug::NoLocking=1 upgrade", stdout: APT_SIMULATE_UPGRADE },
    ]);
    const result = await run(checkSecurityUpdates, { refresh: true });
    expect(result).toEqual({
      manager: "apt",
      refreshed: true,
      classified: true,
      security_count: 2,
      pending_count: 3,
      security_updates: [
        { name: "libssl3", current: "3.0.15-1~deb12u1", available: "3.0.16-1~deb12u1", source: "Debian-Security:12/stable-security", security: true },
        { name: "openssl", current: "3.0.15-1~deb12u1", available: "3.0.16-1~deb12u1", source: "Debian-Security:12/stable-security", security: true },
      ],
    });
    expect(tools.calls()).toEqual(["apt-get update -q", "apt-get -s -q -o Debug::NoLocking=1 upgrade"]);
  });

  it.each([
    ["dnf 4", DNF4_SECURITY, [{ name: "openssl", available: "1:3.0.7-29.el9_4", severity: "Important", advisory: "RHSA-2024:9474" }, { name: "openssl-libs" }, { name: "curl", available: "7.76.1-29.el9_4.1", severity: "Moderate" }]],
    ["dnf 5", DNF5_SECURITY, [{ name: "curl", available: "8.6.0-10.fc40", severity: "Moderate", advisory: "FEDORA-2024-4b8a9d3f4e" }, { name: "glibc", severity: "Important" }]],
  ])("parses %s advisories", async (_version, output, expected) => {
    tools.tool("dnf", [{ when: "-q updateinfo list --security --available", stdout: output }]);
    const result = await run(checkSecurityUpdates, { refresh: false });
    expect(result).toMatchObject({ manager: "dnf", refreshed: false, security_count: expected.length, security_updates: expected });
    expect(tools.calls()).toEqual(["dnf -q updateinfo list --security --available"]);
  });

  it("lists every pending apk update, marked unclassified, since apk has no security metadata", async () => {
    tools.tool("apk", [
      { when: "update -q", stdout: "" },
      { when: "list --upgradable", stdout: APK_UPGRADABLE },
    ]);
    const result = await run(checkSecurityUpdates, { refresh: true });
    expect(result).toMatchObject({
      manager: "apk",
      classified: false,
      security_count: 2,
      note: "apk does not mark security updates; every pending update is listed",
      security_updates: [
        { name: "busybox", current: "1.36.1-r29", available: "1.36.1-r31", source: "busybox", security: null },
        { name: "libcrypto3", current: "3.3.1-r3", available: "3.3.2-r1", source: "openssl", security: null },
      ],
    });
  });
});

describe("service", () => {
  it("restarts through systemctl and reports the unit's state", async () => {
    tools.tool("systemctl", [
      { when: "restart --no-ask-password nginx", stdout: "" },
      { when: "show --no-pager --property=Id,LoadState,ActiveState,SubState,UnitFileState,MainPID,ActiveEnterTimestamp nginx", stdout: SYSTEMCTL_SHOW_RUNNING },
    ]);
    const result = await run(service, { action: "restart", name: "nginx" });
    expect(result).toEqual({ unit: "nginx.service", action: "restart", active: true, load_state: "loaded", active_state: "active", sub_state: "running", unit_file_state: "enabled", main_pid: 1234, since: "Mon 2024-12-02 10:00:00 UTC" });
    expect(tools.calls().map((call) => call.split(" ").slice(0, 2).join(" "))).toEqual(["systemctl restart", "systemctl show"]);
  });

  it("fails on a unit that does not exist", async () => {
    tools.tool("systemctl", [
      { when: "restart*", stderr: "Failed to restart nosuch.service: Unit nosuch.service not found.\n", exit: 5 },
      { when: "show*", stdout: SYSTEMCTL_SHOW_NOT_FOUND },
    ]);
    await expect(run(service, { action: "restart", name: "nosuch" })).rejects.toThrow("systemctl restart nosuch failed (exit 5): Failed to restart nosuch.service: Unit nosuch.service not found.");
    await expect(run(service, { action: "status", name: "nosuch" })).rejects.toThrow("no unit named nosuch on this host (systemctl: LoadState=not-found)");
  });

  it("says 'not supported here' without systemctl, or when systemd is not running", async () => {
    await expect(run(service, { action: "status", name: "nginx" })).rejects.toThrow("not supported here: systemctl was not found on this host");
    tools.tool("systemctl", [{ when: "*", stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n", exit: 1 }]);
    await expect(run(service, { action: "status", name: "nginx" })).rejects.toThrow("not supported here: systemd is not running on this host (Failed to connect to bus: Host is down)");
  });

  it("rejects a unit name with shell metacharacters at enqueue", async () => {
    const config = parseConfig(CONFIG, "t.yaml").config;
    const registry = await loadTaskRegistry(config);
    expect(() => planEnqueue(config, registry, "service", { action: "stop", name: "nginx`id`" })).toThrow("invalid arguments for service: name: a unit name");
    expect(existsSync(join(tools.dir, "calls.log"))).toBe(false);
  });
});
