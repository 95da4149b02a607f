/**
 * How bmad-bus shows numbers to people: durations, ages, seconds, rates,
 * byte counts and timestamps, the same in `status`, `monitor`, `exec`,
 * `checkpoints` and every other command. Their parsers (`30s`, `512MB`) are
 * in duration.ts.
 */

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

/** `450ms`, `42s`, `5m07s`, `3h02m`, `2d04h`: two units, so an uptime reads at a glance and still moves. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < MINUTE) return `${s}s`;
  if (s < HOUR) return `${Math.floor(s / MINUTE)}m${pad2(s % MINUTE)}s`;
  if (s < DAY) return `${Math.floor(s / HOUR)}h${pad2(Math.floor((s % HOUR) / MINUTE))}m`;
  return `${Math.floor(s / DAY)}d${pad2(Math.floor((s % DAY) / HOUR))}h`;
}

/** `30s`, `1.5s`, `0.2s`: a time limit or a command's run time in seconds, the tenth only when there is one. */
export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** `12.3`, `340`: a rate per second, a tenth only while it is small enough to matter. */
export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(1);
}

/** `12s ago`, `5m ago`, `3h ago`, `2d ago`: one unit is enough to tell a live pane from a stale one; the future counts as now. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < MINUTE) return `${s}s ago`;
  if (s < HOUR) return `${Math.floor(s / MINUTE)}m ago`;
  if (s < DAY) return `${Math.floor(s / HOUR)}h ago`;
  return `${Math.floor(s / DAY)}d ago`;
}

/** `1.5G`, `300M`, `12K`, `512B`: memory as the monitor shows it, in binary units (1K = 1024 bytes). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)}G`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)}M`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)}K`;
  return `${bytes}B`;
}

/** `2024-05-01 12:00:00Z` from an ISO 8601 time: readable, sortable, still UTC, without the milliseconds. */
export function formatTimestamp(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
