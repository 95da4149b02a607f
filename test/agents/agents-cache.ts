// Where install-agents.mjs put each CLI. The cache rule is repeated from there (a plain .mjs the
// compiled tests cannot import by a stable path); change both together.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CLIS = ['claude', 'codex', 'gemini', 'qwen', 'opencode'] as const;
export type CliName = (typeof CLIS)[number];

export interface InstalledCli {
  name: CliName;
  package: string;
  version: string;
  /** The executable to run (for Claude Code the native binary, not the npm wrapper). */
  bin: string;
}

export function cacheDir(): string {
  if (process.env.BMAD_AGENTS_CACHE) return process.env.BMAD_AGENTS_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'bmad-bus', 'agents');
}

/** The source folder test/agents (this file runs from dist/test/agents). */
export function sourceDir(): string {
  return path.resolve(import.meta.dirname, '..', '..', '..', 'test', 'agents');
}

/** The version to test: the pin, or the newest one `install-agents.mjs --latest` recorded (BMAD_AGENTS_LATEST=1). */
export function wantedVersion(name: CliName): string {
  if (process.env.BMAD_AGENTS_LATEST === '1') {
    const latest = JSON.parse(fs.readFileSync(path.join(cacheDir(), 'latest.json'), 'utf8')) as Record<string, string>;
    if (latest[name]) return latest[name];
  }
  const pins = JSON.parse(fs.readFileSync(path.join(sourceDir(), 'versions.json'), 'utf8')) as Record<string, { version: string }>;
  return pins[name]!.version;
}

/** The installed CLI, or a sentence saying why there is none. */
export function findCli(name: CliName, version = wantedVersion(name)): InstalledCli | string {
  const marker = path.join(cacheDir(), `${name}@${version}`, 'bmad-agent.json');
  if (!fs.existsSync(marker)) return `${name}@${version} is not installed (no ${marker}); run node test/agents/install-agents.mjs`;
  const m = JSON.parse(fs.readFileSync(marker, 'utf8')) as InstalledCli;
  if (!fs.existsSync(m.bin)) return `${name}@${version}: ${m.bin} is missing; remove ${path.dirname(marker)} and reinstall`;
  return { ...m, name };
}
