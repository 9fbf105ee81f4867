/** Tables for terminals, JSON for scripts: every listing command prints one or the other. */

export type Row = object;

export interface Column {
  key: string;
  header: string;
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return "-";
  if (Array.isArray(value)) return value.length === 0 ? "-" : value.map(cell).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function renderTable(rows: readonly Row[], columns: readonly Column[]): string {
  const cells = rows.map((row) => columns.map((column) => cell((row as Record<string, unknown>)[column.key])));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((line) => line[index]!.split("\n").reduce((w, l) => Math.max(w, l.length), 0))));
  const lines: string[] = [];
  const format = (values: string[]) =>
    values
      .map((value, index) => (index === values.length - 1 ? value : value.padEnd(widths[index]!)))
      .join("  ")
      .trimEnd();
  lines.push(format(columns.map((column) => column.header)));
  for (const line of cells) {
    const split = line.map((value) => value.split("\n"));
    const height = Math.max(...split.map((parts) => parts.length));
    for (let i = 0; i < height; i++) lines.push(format(split.map((parts) => parts[i] ?? "")));
  }
  return lines.join("\n");
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printRows(rows: readonly Row[], columns: readonly Column[], options: { json?: boolean; empty?: string }): void {
  if (options.json) {
    printJson(rows);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write(`${options.empty ?? "nothing to show"}\n`);
    return;
  }
  process.stdout.write(`${renderTable(rows, columns)}\n`);
}
