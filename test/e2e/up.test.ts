/**
 * `dist/llmctl up` as a user runs it: no Redis anywhere, the embedded store under a data
 * directory, the dashboard URL and token printed. A real headless Chromium signs in with the
 * printed token and drives it through enqueue → complete → revoke and a schedule trigger; a
 * delayed job enqueued before a restart runs after it. Screenshots go to test/artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../conformance/harness.ts";
import { artifactPath, launchBrowser } from "../helpers/browser.ts";
import { ensureBinary, llmctl } from "../helpers/cli.ts";
import { tempDir } from "../helpers/files.ts";
import { startRole, type RoleProcess } from "../helpers/processes.ts";
import { studioClient } from "../helpers/studio.ts";

setDefaultTimeout(60_000);

const files = tempDir();
const configPath = files.file(
  "llmctl.yaml",
  `prefix: e2e_up
queues: [llmctl_studio, llmctl_studio.rag.index]
worker: { grace: 2s }
schedules:
  hourly_ping: { cron: "0 * * * *", task: llmctl.ping, targets: [llmctl_studio], description: a ping once an hour }
`,
);
const dataDir = join(files.dir, "data");
// LLMCTL_REDIS_URL is left unset (cleanEnv drops it): nothing configures Redis, so up picks the embedded store.
const env = { LLMCTL_CONFIG: configPath };

interface RunningUp {
  process: RoleProcess;
  url: string;
  token: string;
}

async function startUp(): Promise<RunningUp> {
  const process = startRole(["up", "--port", "0", "--data-dir", dataDir], env);
  await process.waitForLog("up started", 20_000);
  // stdout and stderr are separate pipes: the banner may arrive just after the log line.
  const printed = await waitFor("the banner on stdout", () => (/^Stop with Ctrl-C/m.test(process.output()) ? process.output() : undefined), { timeoutMs: 2000 });
  const url = /^ {2}dashboard +(http:\S+)$/m.exec(printed)?.[1];
  const token = /^ {2}token +(\S+) {3}\(generated for this run/m.exec(printed)?.[1];
  if (!url || !token) throw new Error(`up did not print the dashboard URL and a generated token:\n${printed}`);
  return { process, url, token };
}

let up: RunningUp;

beforeAll(async () => {
  ensureBinary();
  up = await startUp();
}, 60_000);
afterAll(async () => {
  await up?.process.stop();
  files.cleanup();
});

describe("dist/llmctl up", () => {
  it("prints the dashboard URL and a token that signs in, and keeps the store under the data directory", async () => {
    const printed = up.process.output();
    expect(printed).toContain(`store      embedded://${join(dataDir, "store.snapshot")}`);
    expect(printed).toContain("worker     2 queues, 2 jobs at once");
    expect(printed).toContain("beat       1 schedule");
    const api = studioClient(up.url, up.token);
    expect((await api("GET", "/api/v1/queues", { token: null })).status).toBe(401);
    const signIn = await api("POST", "/api/v1/session", { token: null, body: { token: up.token } });
    expect(signIn.status).toBe(200);
    const workers = await api("GET", "/api/v1/workers");
    expect(workers.body.workers.map((worker: { queues: string[] }) => worker.queues)).toEqual([["llmctl_studio", "llmctl_studio.rag.index"]]);
    const schedules = await api("GET", "/api/v1/schedules");
    expect(schedules.body.beats.map((beat: { role: string }) => beat.role)).toEqual(["active"]);
  });

  it("is driven by Chromium: sign in with the printed token, enqueue → complete, revoke a running job, trigger a schedule and see its run", async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(up.url);
      await page.waitForSelector("#sign-in-dialog[open]");
      await page.fill("#token", up.token);
      await page.click("#sign-in-form button[type=submit]");
      await page.waitForSelector("#connection[data-state=live]");
      await page.waitForSelector("#panel-workers tr[data-worker]");
      await page.waitForSelector("#panel-schedules tr[data-schedule=hourly_ping]");
      expect(await page.getAttribute("#lease-holder", "data-lease")).not.toBe("");
      await page.screenshot({ path: artifactPath("up-overview.png"), fullPage: true });
      await page.evaluate(() => ((window as unknown as { noReload: boolean }).noReload = true));

      // Enqueue → complete, followed live.
      await page.click("nav a[data-section=enqueue]");
      await page.selectOption("#enqueue-task", "llmctl.ping");
      await page.fill("#arg-sleep_ms", "500");
      await page.click("#enqueue-form button[type=submit]");
      await page.click("#enqueued-jobs a");
      await page.waitForSelector("#job-state .badge:text('completed')", { timeout: 15_000 });
      expect(await page.textContent("#job-result")).toContain('"queue": "llmctl_studio"');
      await page.screenshot({ path: artifactPath("up-job-completed.png"), fullPage: true });

      // Revoke a running job: its worker (in the same process) aborts it.
      await page.click("nav a[data-section=enqueue]");
      await page.selectOption("#enqueue-task", "shell");
      await page.fill("#arg-argv", "sleep\n30");
      await page.click("#enqueue-form button[type=submit]");
      await page.click("#enqueued-jobs a");
      await page.waitForSelector("#job-state .badge:text('active')", { timeout: 15_000 });
      await page.click("button[data-action=revoke]");
      await page.waitForSelector("#job-state .badge:text('failed')", { timeout: 10_000 });
      expect(await page.textContent("#job-error")).toContain("revoked");
      await page.screenshot({ path: artifactPath("up-job-revoked.png"), fullPage: true });

      // Trigger the schedule from the overview: its run appears in the row, and completes, without a reload.
      await page.click("nav a[data-section='']");
      const row = page.locator("#panel-schedules tr[data-schedule=hourly_ping]");
      expect(await row.locator("[data-last]").getAttribute("data-last")).toBe("");
      await row.locator("button[data-action=trigger]").click();
      await page.waitForSelector("#notice.ok:has-text('hourly_ping triggered: 1 job')");
      await page.waitForSelector("#panel-schedules tr[data-schedule=hourly_ping] [data-last=trigger] .badge:text('completed')", { timeout: 10_000 });
      await row.locator("button[data-action=pause]").click();
      await page.waitForSelector("#panel-schedules tr[data-schedule=hourly_ping] [data-schedule-state=paused]");
      await page.screenshot({ path: artifactPath("up-schedule-triggered.png"), fullPage: true });
      await row.locator("button[data-action=resume]").click();
      await page.waitForSelector("#panel-schedules tr[data-schedule=hourly_ping] [data-schedule-state=active]");

      expect(await page.evaluate(() => (window as unknown as { noReload?: boolean }).noReload)).toBe(true);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("keeps a delayed job across a restart: SIGTERM saves the store, the next up runs the job", async () => {
    const before = studioClient(up.url, up.token);
    const enqueued = await before("POST", "/api/v1/tasks/llmctl.ping", { body: { delay: "3s" } });
    expect(enqueued.status).toBe(202);
    const id: string = enqueued.body.jobs[0].id;
    up.process.signal("SIGTERM");
    expect(await up.process.exited).toBe(0);
    expect(up.process.output()).toContain("stopped; the store is closed");
    expect(existsSync(join(dataDir, "store.snapshot"))).toBe(true);

    up = await startUp();
    const after = studioClient(up.url, up.token);
    expect((await after("GET", `/api/v1/jobs/${id}`)).body.state).toBe("delayed");
    const deadline = Date.now() + 15_000;
    let state = "";
    while (state !== "completed" && Date.now() < deadline) {
      await Bun.sleep(200);
      state = (await after("GET", `/api/v1/jobs/${id}`)).body.state;
    }
    expect(state).toBe("completed");
  });

  it("refuses a second up on the same data directory while the first runs, leaving the first untouched", async () => {
    const second = await llmctl(["up", "--port", "0", "--data-dir", dataDir], { env });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`the embedded store ${join(dataDir, "store.snapshot")} is in use by another process (pid ${up.process.process.pid} on `);
    expect((await studioClient(up.url, up.token)("GET", "/readyz")).status).toBe(200);
  });

  it("refuses bad flags and --data-dir with a configured Redis, with exit 2, starting nothing", async () => {
    const redisAndDataDir = await llmctl(["up", "--data-dir", join(files.dir, "other")], { env: { ...env, LLMCTL_REDIS_URL: "redis://127.0.0.1:1/0" } });
    expect(redisAndDataDir.code).toBe(2);
    expect(redisAndDataDir.stderr).toContain("--data-dir only applies to the embedded store, but Redis is configured (redis://127.0.0.1:1/0, from LLMCTL_REDIS_URL)");
    expect(existsSync(join(files.dir, "other"))).toBe(false);
    const unwritable = await llmctl(["up", "--data-dir", join(configPath, "data")], { env });
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toContain(`cannot keep the embedded store in ${join(configPath, "data")}`);
    for (const flags of [["--port", "http"], ["--concurrency", "0"], ["--grace", "soon"]]) {
      const result = await llmctl(["up", ...flags], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(flags[0]!);
    }
  });
});
