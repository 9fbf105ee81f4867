/** A one-line progress bar on a terminal; nothing when output is not a terminal. */

export class ProgressLine {
  private lastLength = 0;
  readonly enabled: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = stream.isTTY === true;
  }

  update(fraction: number, label: string): void {
    if (!this.enabled) return;
    const width = 30;
    const clamped = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(clamped * width);
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(clamped * 100)).padStart(3)}% ${label}`;
    this.stream.write(`\r${line.padEnd(this.lastLength)}`);
    this.lastLength = line.length;
  }

  done(): void {
    if (!this.enabled || this.lastLength === 0) return;
    this.stream.write(`\r${" ".repeat(this.lastLength)}\r`);
    this.lastLength = 0;
  }
}
