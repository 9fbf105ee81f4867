/**
 * The checks of a smoke run and how they are shown: one line per check as it finishes (with a
 * line of what is still running, redrawn in place, on a terminal), a summary, or one JSON
 * document with --json. A check passes with a detail, fails with a reason people can act on,
 * or is skipped because something it needs failed first.
 */
import { errorMessage } from "../util/errors.ts";

export type CheckStatus = "pass" | "fail" | "skip";

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was seen (pass) or what is wrong (fail, skip). */
  detail: string;
  ms: number;
}

/** Thrown by a check for a failure whose message is the whole explanation (no "Error:" noise). */
export class CheckFailed extends Error {}

const MARKS: Record<CheckStatus, string> = { pass: "PASS", fail: "FAIL", skip: "SKIP" };
const NAME_WIDTH = 44;

export interface ReportOutput {
  json: boolean;
  /** Redraws a line of the checks still running (a terminal). */
  progress: boolean;
  write(text: string): void;
}

export class SmokeReport {
  readonly results: CheckResult[] = [];
  private readonly running = new Set<string>();
  private progressShown = false;
  private readonly startedAt = performance.now();

  constructor(private readonly output: ReportOutput) {}

  /** Runs one check: `check` returns the detail of a pass, or throws the reason it failed. */
  async check(name: string, check: () => Promise<string>): Promise<boolean> {
    const started = performance.now();
    this.running.add(name);
    this.drawProgress();
    let result: CheckResult;
    try {
      result = { name, status: "pass", detail: await check(), ms: 0 };
    } catch (error) {
      result = { name, status: "fail", detail: errorMessage(error), ms: 0 };
    }
    result.ms = Math.round(performance.now() - started);
    this.running.delete(name);
    this.record(result);
    return result.status === "pass";
  }

  skip(name: string, reason: string): void {
    this.record({ name, status: "skip", detail: reason, ms: 0 });
  }

  get failed(): number {
    return this.results.filter((result) => result.status === "fail").length;
  }

  get ok(): boolean {
    return this.failed === 0;
  }

  private record(result: CheckResult): void {
    this.results.push(result);
    if (this.output.json) return;
    this.clearProgress();
    const timing = result.status === "skip" ? "" : ` (${result.ms} ms)`;
    this.output.write(`${MARKS[result.status]}  ${result.name.padEnd(NAME_WIDTH)} ${result.detail}${timing}\n`);
    this.drawProgress();
  }

  private drawProgress(): void {
    if (!this.output.progress || this.output.json) return;
    this.clearProgress();
    if (this.running.size === 0) return;
    const names = [...this.running];
    const line = `…     ${names.slice(0, 3).join(", ")}${names.length > 3 ? ` and ${names.length - 3} more` : ""}`;
    this.output.write(line.slice(0, (process.stdout.columns || 100) - 1));
    this.progressShown = true;
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    this.output.write("\r\x1b[K");
    this.progressShown = false;
  }

  /** The closing summary line, or the JSON document. */
  finish(extra: Record<string, unknown>): void {
    this.clearProgress();
    const durationMs = Math.round(performance.now() - this.startedAt);
    const count = (status: CheckStatus) => this.results.filter((result) => result.status === status).length;
    if (this.output.json) {
      const summary = { passed: count("pass"), failed: count("fail"), skipped: count("skip") };
      this.output.write(`${JSON.stringify({ ok: this.ok, ...extra, duration_ms: durationMs, summary, checks: this.results }, null, 2)}\n`);
      return;
    }
    const parts = [`${count("pass")} passed`, `${count("fail")} failed`, ...(count("skip") ? [`${count("skip")} skipped`] : [])];
    this.output.write(`\n${this.ok ? "smoke passed" : "smoke FAILED"}: ${this.results.length} checks, ${parts.join(", ")} in ${(durationMs / 1000).toFixed(1)} s\n`);
  }
}

/** Polls `probe` until it returns a value (not undefined), or fails with `what` after the time is up. */
export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new CheckFailed(`${what} within ${Math.round(timeoutMs / 1000)} s`);
    await Bun.sleep(intervalMs);
  }
}
