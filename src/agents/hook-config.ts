import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../bus/errors.js';
import { applyEdit, jsonText, parseJsonObject, readText } from './config-files.js';
import type { HookCli } from './hook-events.js';

export type HookScope = 'project' | 'user';

/** The hook events bmad-bus listens to, per CLI (what `bmad-bus hook` understands: hook-events.ts). */
const EVENTS: Record<Exclude<HookCli, 'codex'>, string[]> = {
  claude: ['UserPromptSubmit', 'Stop', 'Notification', 'PreCompact', 'SessionStart'],
  gemini: ['BeforeAgent', 'AfterAgent', 'Notification', 'PreCompress', 'SessionStart'],
  // Qwen Code took Claude Code's hook events, not Gemini CLI's (0.15 and 0.24 alike), and has StopFailure for a turn that ended in an error.
  qwen: ['UserPromptSubmit', 'Stop', 'StopFailure', 'Notification', 'PreCompact', 'SessionStart'],
};

/** A command line is ours when it runs `bmad-bus … hook --cli`: how install replaces and uninstall finds only its own entries. */
const OURS = /bmad-bus\S*\s+hook\s+--cli\s/;

/** Where a CLI keeps the settings that hold its hooks. Claude's project scope is its untracked local file. */
export function hookConfigFile(cli: HookCli, scope: HookScope, cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME || os.homedir();
  switch (cli) {
    case 'claude':
      return scope === 'user' ? path.join(home, '.claude', 'settings.json') : path.join(cwd, '.claude', 'settings.local.json');
    case 'gemini':
      return path.join(scope === 'user' ? home : cwd, '.gemini', 'settings.json');
    case 'qwen':
      return path.join(scope === 'user' ? home : cwd, '.qwen', 'settings.json');
    case 'codex':
      if (scope === 'project') throw new UsageError('Codex reads its notify command from $CODEX_HOME/config.toml only: use --scope user');
      return path.join(env.CODEX_HOME || path.join(home, '.codex'), 'config.toml');
  }
}

export interface HookPlan {
  cli: HookCli;
  file: string;
  /** What the file holds now ('' when missing) and what it would hold. */
  before: string;
  after: string;
}

const quote = (word: string): string => (/^[A-Za-z0-9_./:=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/** The hook configuration `install` (or, with `remove`, `uninstall`) would write; nothing is written here. */
export function planHooks(cli: HookCli, file: string, bin: string, remove = false, read: (file: string) => string = readText): HookPlan {
  const before = read(file);
  const after = cli === 'codex' ? codexConfig(before, bin, remove, file) : jsonHooks(cli, before, bin, remove, file);
  return { cli, file, before, after };
}

/** Writes a plan (atomically, keeping the file's mode); false when there was nothing to change. */
export function applyHookPlan(plan: HookPlan): boolean {
  return applyEdit(plan);
}

/** Whether the file holds bmad-bus hooks for every event it needs. */
export function hooksInstalled(cli: HookCli, file: string, bin: string): 'installed' | 'partial' | 'absent' {
  const plan = planHooks(cli, file, bin);
  if (plan.after === plan.before) return 'installed';
  return OURS.test(plan.before) ? 'partial' : 'absent';
}

interface HookEntry {
  matcher?: string;
  hooks?: Array<{ type?: string; command?: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

/**
 * Claude Code, Gemini CLI and Qwen Code keep hooks the same way:
 * `hooks.<Event>: [{ matcher, hooks: [{ type: "command", command }] }]`. Only
 * our own commands are added or removed; the user's hooks, and every other
 * setting, stay as they were.
 */
function jsonHooks(cli: Exclude<HookCli, 'codex'>, text: string, bin: string, remove: boolean, file: string): string {
  const settings = parseJsonObject(text, file);
  const hooks = { ...((settings.hooks as Record<string, HookEntry[]> | undefined) ?? {}) };
  for (const event of EVENTS[cli]) {
    const kept = (hooks[event] ?? [])
      .map((entry) => ({ ...entry, hooks: (entry.hooks ?? []).filter((h) => !OURS.test(String(h.command ?? ''))) }))
      .filter((entry) => entry.hooks.length > 0);
    if (!remove) kept.push({ matcher: '', hooks: [{ type: 'command', command: `${quote(bin)} hook --cli ${cli} ${event}` }] });
    if (kept.length > 0) hooks[event] = kept;
    else delete hooks[event];
  }
  const next = { ...settings };
  if (Object.keys(hooks).length > 0) next.hooks = hooks;
  else delete next.hooks;
  return jsonText(text, settings, next);
}

/**
 * Codex runs one `notify` program after each turn, given in config.toml as
 * a top-level array. Ours is set only where there is none, or ours; a notify
 * of the user's own is never replaced (an error says so).
 */
function codexConfig(text: string, bin: string, remove: boolean, file: string): string {
  const lines = text === '' ? [] : text.split('\n');
  // Top level: before the first [table].
  const firstTable = lines.findIndex((l) => /^\s*\[/.test(l));
  const top = firstTable === -1 ? lines.length : firstTable;
  const at = lines.slice(0, top).findIndex((l) => /^\s*notify\s*=/.test(l));
  const ours = `notify = ${JSON.stringify([bin, 'hook', '--cli', 'codex', 'notify'])}`;
  if (at !== -1 && !OURS.test(lines[at]!.replace(/[",[\]]/g, ' '))) {
    if (remove) return text;
    throw new UsageError(`${file} already has a notify command of its own (${lines[at]!.trim()}); Codex runs only one: remove it or chain it, nothing was changed`);
  }
  if (remove) {
    if (at === -1) return text;
    lines.splice(at, 1);
    return lines.join('\n');
  }
  if (at !== -1) {
    if (lines[at] === ours) return text;
    lines[at] = ours;
    return lines.join('\n');
  }
  // Right after the last top-level setting, so uninstall gives back the file as it was.
  let after = top;
  while (after > 0 && lines[after - 1]!.trim() === '') after--;
  lines.splice(after, 0, ours);
  const joined = lines.join('\n');
  return joined.endsWith('\n') ? joined : `${joined}\n`;
}
