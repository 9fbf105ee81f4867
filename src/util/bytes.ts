/** Sizes written by people in config ("1MiB", "512KiB", "64kB", "0", or a byte count) and sizes printed for them. */

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Bytes for "0", "2048", "512B", "10MB", "1.5GiB" (units case-insensitive) or a whole number; undefined otherwise. */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!match) return undefined;
  const factor = UNIT_BYTES[(match[2] || "b").toLowerCase()];
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor);
}

export function isByteSize(value: string | number): boolean {
  return parseBytes(value) !== undefined;
}

/** "1 MiB" for whole binary units, "1.5 GiB" otherwise, "900 B" below a KiB. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return Number.isInteger(value) ? `${value} ${units[unit]}` : `${value.toFixed(1)} ${units[unit]}`;
}
