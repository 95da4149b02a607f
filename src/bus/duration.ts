import { UsageError } from './errors.js';

// Parsers of what users type (`30s`, `512MB`); how durations and sizes are shown back is in human-format.ts.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `500ms`, `30s`, `10m`, `2h`, `7d`, `1w` (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (typeof text === 'number' && Number.isFinite(text) && text >= 0) return text;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(String(text));
  if (!match) throw new UsageError(`Expected ${what} like 30s, 10m, 2h or 7d, got \`${String(text)}\``);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Parses `512MB`, `2GB`, `1024` (bytes) into bytes. */
export function parseSize(text: string | number, what = 'size'): number {
  if (typeof text === 'number' && Number.isFinite(text) && text >= 0) return text;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmg]?)(i?b)?)?\s*$/i.exec(String(text));
  if (!match) throw new UsageError(`Expected ${what} like 4096, 512KB, 1MiB or 2GB, got \`${String(text)}\``);
  // KB and KiB alike are 1024: nobody sizing a pipe line means 1000.
  return Math.round(Number(match[1]) * SIZE_UNITS[(match[2] || 'b').toLowerCase()]!);
}
