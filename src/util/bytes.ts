/** Sizes written by people ("500MB", "2GiB", "0") and sizes printed for them. */

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

/** Parses "0", "512B", "10MB", "1.5GiB" (case-insensitive); undefined for anything else. */
export function parseBytes(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = match[2]!.toLowerCase();
  if (unit === "" && match[1] !== "0") return undefined; // a bare number other than 0 is ambiguous
  const factor = unit === "" ? 1 : UNIT_BYTES[unit];
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor);
}

export function isByteSize(text: string): boolean {
  return parseBytes(text) !== undefined;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
