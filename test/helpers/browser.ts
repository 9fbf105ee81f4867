/**
 * A real headless Chromium (Debian's `chromium` package, installed by scripts/test) driven by
 * playwright-core, with a fresh profile per launch and nothing that reaches the network.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { ROOT } from "./cli.ts";
import { tempDir } from "./files.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = join(ROOT, "test", "artifacts");

export async function launchBrowser(options: { colorScheme?: "light" | "dark" } = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; run ./scripts/test (it installs Debian's chromium) or apt-get install chromium`);
  const profile = tempDir("llmctl-chromium-");
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1366, height: 768 },
    colorScheme: options.colorScheme ?? "light",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    async close() {
      await context.close();
      profile.cleanup();
    },
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
