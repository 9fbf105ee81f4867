/**
 * The studio as shipped: dist/llmctl studio and dist/llmctl worker against a private
 * redis-server, driven over HTTP and from a real headless Chromium: sign in, see the worker,
 * enqueue from the generated form, watch the job complete live, revoke a running one, pause a
 * queue, and read the server's message when an action fails. Screenshots go to test/artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import type { Page } from "playwright-core";
import { ensureBinary, llmctl } from "../helpers/cli.ts";
import { artifactPath, launchBrowser } from "../helpers/browser.ts";
import { tempDir } from "../helpers/files.ts";
import { startRole, type RoleProcess } from "../helpers/processes.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";
import { studioClient } from "../helpers/studio.ts";

setDefaultTimeout(60_000);

const TOKEN = "e2e-studio-token-0123456789abcdef";
const files = tempDir();
const configPath = files.file(
  "llmctl.yaml",
  `prefix: e2e_studio
queues: [llmctl_studio, llmctl_studio.rag.index]
worker: { heartbeat: 500ms, lock_duration: 5s, stalled_interval: 5s, grace: 2s }
`,
);

let redis: RedisServer;
let studio: RoleProcess;
let worker: RoleProcess;
let baseUrl: string;

beforeAll(async () => {
  ensureBinary();
  redis = await startRedisServer();
  const env = { LLMCTL_REDIS_URL: redis.url, LLMCTL_CONFIG: configPath, LLMCTL_STUDIO_TOKEN: TOKEN };
  studio = startRole(["studio", "--port", "0"], env);
  worker = startRole(["worker", "--concurrency", "2"], env);
  const started = await studio.waitForLog("studio started");
  baseUrl = String(started.url);
  await worker.waitForLog("worker started");
}, 120_000);
afterAll(async () => {
  await Promise.all([studio?.stop(), worker?.stop()]);
  await redis?.stop();
  files.cleanup();
});

describe("dist/llmctl studio: the API of the compiled binary", () => {
  it("refuses bad input with the right status and message", async () => {
    const api = studioClient(baseUrl, TOKEN);
    expect((await api("GET", "/api/v1/queues", { token: null })).status).toBe(401);
    const malformed = await api("POST", "/api/v1/tasks/llmctl.ping", { raw: "{oops" });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("invalid_json");
    const oversize = await api("POST", "/api/v1/tasks/llmctl.ping", { body: { args: { pad: "x".repeat(1_100_000) } } });
    expect(oversize.status).toBe(413);
    expect(oversize.body.error.message).toBe("request body is larger than 1 MiB (studio.max_body)");
    const traversal = await api("GET", "/api/v1/jobs/..%2F..%2Fetc%2Fpasswd");
    expect(traversal.status).toBe(400);
    expect(traversal.body.error.field).toBe("id");
    expect((await api("GET", "/api/v1/jobs")).body).toEqual({ jobs: [], next_cursor: null });
  });

  it("serves the dashboard bundled into the binary, with its script and styles, and the OpenAPI document", async () => {
    const html = await (await fetch(baseUrl)).text();
    expect(html).toContain("<title>llmctl studio</title>");
    const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((match) => match[1]!);
    expect(assets.length).toBe(2);
    for (const asset of assets) {
      const response = await fetch(new URL(asset, baseUrl));
      expect(response.status).toBe(200);
      expect((await response.text()).length).toBeGreaterThan(500);
    }
    const openapi = await (await fetch(new URL("/api/v1/openapi.json", baseUrl))).json();
    expect(openapi.openapi).toBe("3.1.0");
  });

  it("refuses to listen on a non-loopback address without a token, and the embedded store, with exit 2", async () => {
    const open = await llmctl(["studio", "--host", "0.0.0.0", "--port", "0"], { env: { LLMCTL_REDIS_URL: redis.url, LLMCTL_CONFIG: configPath } });
    expect(open.code).toBe(2);
    expect(open.stderr).toContain("refusing to serve the studio on 0.0.0.0 without a token");
    expect(open.stderr).toContain("--insecure");
    const embedded = await llmctl(["studio", "--redis-url", "embedded"], { env: { LLMCTL_CONFIG: configPath } });
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toContain("the studio alone cannot use the embedded store");
    const badPort = await llmctl(["studio", "--port", "http"]);
    expect(badPort.code).toBe(2);
  });
});

async function stateOf(page: Page): Promise<string> {
  return (await page.textContent("#job-state .badge")) ?? "";
}

describe("the dashboard in headless Chromium", () => {
  it("signs in, shows the worker, enqueues from the form, follows the job live, revokes a running one, pauses a queue", async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(baseUrl);

      // Sign-in: a wrong token shows the server's message; the right one opens the overview.
      await page.waitForSelector("#sign-in-dialog[open]");
      await page.fill("#token", "wrong-token");
      await page.click("#sign-in-form button[type=submit]");
      await page.waitForSelector("#sign-in-error:text('the token is not valid')");
      await page.screenshot({ path: artifactPath("studio-sign-in.png") });
      await page.fill("#token", TOKEN);
      await page.click("#sign-in-form button[type=submit]");

      // The overview sees the worker (from its heartbeat) and the queues, over the live stream.
      await page.waitForSelector("#connection[data-state=live]");
      const workerRow = page.locator("#panel-workers tr[data-worker]");
      await workerRow.first().waitFor();
      expect(await workerRow.count()).toBe(1);
      expect(await workerRow.locator("[data-slots]").getAttribute("data-slots")).toBe("0/2");
      await page.waitForSelector("#panel-queues tr[data-queue='llmctl_studio']");
      await page.screenshot({ path: artifactPath("studio-overview.png"), fullPage: true });

      // Every later step happens without a page load: this marker would vanish with one.
      await page.evaluate(() => ((window as unknown as { noReload: boolean }).noReload = true));

      // Enqueue from the form generated from llmctl.ping's schema, then watch it complete.
      await page.click("nav a[data-section=enqueue]");
      await page.selectOption("#enqueue-task", "llmctl.ping");
      await page.fill("#arg-sleep_ms", "800");
      await page.click("#enqueue-form button[type=submit]");
      await page.waitForSelector("#enqueued-jobs a");
      await page.screenshot({ path: artifactPath("studio-enqueued.png"), fullPage: true });
      await page.click("#enqueued-jobs a");
      await page.waitForFunction(() => ["waiting", "active"].includes(document.querySelector("#job-state .badge")?.textContent ?? ""));
      await page.waitForSelector("#job-state .badge:text('completed')", { timeout: 15_000 });
      expect(await page.textContent("#job-result")).toContain('"queue": "llmctl_studio"');
      await page.screenshot({ path: artifactPath("studio-job-completed.png"), fullPage: true });

      // A failing action shows the server's message and marks the field it names.
      await page.click("nav a[data-section=enqueue]");
      await page.selectOption("#enqueue-task", "llmctl.ping");
      await page.fill("#enqueue-targets", "nowhere");
      await page.click("#enqueue-form button[type=submit]");
      await page.waitForSelector(".notice.error");
      expect(await page.textContent(".notice.error")).toContain('target "nowhere" names no role or queue');
      expect(await page.getAttribute("[data-field=targets]", "class")).toContain("invalid");
      await page.screenshot({ path: artifactPath("studio-enqueue-error.png"), fullPage: true });

      // Revoke a running shell job from its page: its worker kills the child and fails the job.
      await page.selectOption("#enqueue-task", "shell");
      await page.fill("#arg-argv", "sleep\n30");
      await page.click("#enqueue-form button[type=submit]");
      await page.waitForSelector("#enqueued-jobs a");
      await page.click("#enqueued-jobs a");
      await page.waitForSelector("#job-state .badge:text('active')", { timeout: 15_000 });
      await page.screenshot({ path: artifactPath("studio-job-running.png"), fullPage: true });
      await page.click("button[data-action=revoke]");
      await page.waitForSelector("#job-state .badge:text('failed')", { timeout: 10_000 });
      expect(await page.textContent("#job-error")).toContain("revoked");
      expect(await stateOf(page)).toBe("failed");
      await page.screenshot({ path: artifactPath("studio-job-revoked.png"), fullPage: true });

      // The job list filters by state and shows the revoked job.
      await page.click("nav a[data-section=jobs]");
      await page.selectOption("select[name=state]", "failed");
      await page.waitForSelector("#job-list tr[data-job] .badge:text('failed')");
      expect(await page.locator("#job-list tbody tr").count()).toBe(1);
      await page.screenshot({ path: artifactPath("studio-jobs.png"), fullPage: true });

      // Pause and resume a queue from the overview; the badge follows the queue's state live.
      await page.click("nav a[data-section='']");
      await page.click("#panel-queues tr[data-queue='llmctl_studio'] button[data-action=pause]");
      await page.waitForSelector("#panel-queues tr[data-queue='llmctl_studio'] .badge.paused");
      await page.click("#panel-queues tr[data-queue='llmctl_studio'] button[data-action=resume]");
      await page.waitForSelector("#panel-queues tr[data-queue='llmctl_studio'] button[data-action=pause]");
      expect(await page.locator("#panel-queues tr[data-queue='llmctl_studio'] .badge.paused").count()).toBe(0);
      expect(await page.textContent("#panel-queues tr[data-queue='llmctl_studio'] [data-count=completed]")).toBe("1");

      expect(await page.evaluate(() => (window as unknown as { noReload?: boolean }).noReload)).toBe(true);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("is readable in dark mode", async () => {
    const browser = await launchBrowser({ colorScheme: "dark" });
    try {
      const page = await browser.context.newPage();
      await page.goto(baseUrl);
      await page.fill("#token", TOKEN);
      await page.click("#sign-in-form button[type=submit]");
      await page.waitForSelector("#panel-workers tr[data-worker]");
      const colours = await page.evaluate(() => ({ background: getComputedStyle(document.body).backgroundColor, text: getComputedStyle(document.body).color }));
      expect(colours).toEqual({ background: "rgb(18, 21, 27)", text: "rgb(227, 231, 238)" });
      await page.screenshot({ path: artifactPath("studio-overview-dark.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});

describe("dist/llmctl studio: shutdown", () => {
  it("stops on SIGTERM with exit 0", async () => {
    studio.signal("SIGTERM");
    expect(await studio.exited).toBe(0);
    expect(studio.output()).toContain("studio stopped");
  });
});
