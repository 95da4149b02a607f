import path from 'node:path';
import { UsageError } from '../bus/errors.js';
import { applyEdit, readText } from '../agents/config-files.js';
import { hookConfigFile, hooksInstalled, planHooks, type HookScope } from '../agents/hook-config.js';
import { HOOK_CLIS, type HookCli } from '../agents/hook-events.js';
import { mcpConfigFiles, mcpRegistered, planMcp, type McpServerCommand } from '../agents/mcp-config.js';
import { isValidName, show } from '../bus/names.js';
import { BIN } from '../router/daemon-control.js';
import { printJson, printLine } from './context.js';

export interface HooksOptions {
  cli?: string;
  scope?: string;
  cwd?: string;
  dryRun?: boolean;
  json?: boolean;
  /** false: leave the MCP server out (`--no-mcp`). */
  mcp?: boolean;
  /** false: only the MCP server, no hooks (`--no-hooks`). */
  hooks?: boolean;
  /** The MCP server's agent, fixed (default: `$BMAD_AGENT` in the CLI's environment). */
  agent?: string;
  /** The bus root (the global `--dir`), fixed in the MCP server's command line. */
  dir?: string;
}

interface Target {
  cli: HookCli;
  scope: HookScope;
  cwd: string;
  file?: string;
  /** Why this CLI is left out (Codex has no project scope). */
  skipped?: string;
}

type Row =
  | { cli: HookCli; part: 'hooks' | 'mcp'; skipped: string }
  | { cli: HookCli; part: 'hooks'; file: string; changed: boolean }
  | { cli: HookCli; part: 'mcp'; files: string[]; changed: boolean };

function targets(options: HooksOptions): Target[] {
  const scope = (options.scope ?? 'project') as HookScope;
  if (scope !== 'project' && scope !== 'user') throw new UsageError(`Expected --scope project or user, got \`${options.scope}\``);
  if (options.cli !== undefined && !(HOOK_CLIS as readonly string[]).includes(options.cli)) {
    throw new UsageError(`Expected --cli ${HOOK_CLIS.join(', ')}, got \`${options.cli}\``);
  }
  if (options.agent !== undefined && !isValidName(options.agent)) throw new UsageError(`Expected --agent to match [a-z0-9][a-z0-9._-]{0,63}, got ${show(options.agent)}`);
  if (options.hooks === false && options.mcp === false) throw new UsageError('--no-hooks and --no-mcp leave nothing to do');
  const clis = options.cli ? [options.cli as HookCli] : HOOK_CLIS;
  const cwd = options.cwd ?? process.cwd();
  return clis.map((cli) => {
    if (cli === 'codex' && scope === 'project') {
      if (options.cli) hookConfigFile(cli, scope, cwd); // the clear error
      return { cli, scope, cwd, skipped: 'user scope only (--scope user)' };
    }
    return { cli, scope, cwd, file: hookConfigFile(cli, scope, cwd) };
  });
}

function serverCommand(options: HooksOptions): McpServerCommand {
  return { bin: BIN, ...(options.dir ? { dir: path.resolve(options.dir) } : {}), ...(options.agent ? { agent: options.agent } : {}) };
}

/**
 * `hooks install` / `hooks uninstall`: merges bmad-bus's hooks and its MCP
 * server into each CLI's settings (or takes only them out).
 */
export function hooksChangeCommand(remove: boolean, options: HooksOptions): void {
  // Everything is planned before anything is written (a broken file stops it all, with nothing
  // changed), each plan over the ones before it: Claude's hooks and MCP permissions share a file.
  const original = new Map<string, string>();
  const planned = new Map<string, string>();
  const read = (file: string): string => {
    if (!original.has(file)) original.set(file, readText(file));
    return planned.get(file) ?? original.get(file)!;
  };
  const rows: Row[] = [];
  for (const t of targets(options)) {
    if (options.hooks !== false) {
      if (!t.file) rows.push({ cli: t.cli, part: 'hooks', skipped: t.skipped! });
      else {
        const plan = planHooks(t.cli, t.file, BIN, remove, read);
        planned.set(plan.file, plan.after);
        rows.push({ cli: t.cli, part: 'hooks', file: t.file, changed: plan.after !== plan.before });
      }
    }
    if (options.mcp !== false) {
      if (!t.file) rows.push({ cli: t.cli, part: 'mcp', skipped: t.skipped! });
      else {
        const plan = planMcp(t.cli, t.scope, t.cwd, serverCommand(options), remove, process.env, read);
        for (const e of plan.edits) planned.set(e.file, e.after);
        rows.push({ cli: t.cli, part: 'mcp', files: plan.edits.map((e) => e.file), changed: plan.edits.some((e) => e.after !== e.before) });
      }
    }
  }
  const writes = [...planned].filter(([file, after]) => after !== original.get(file)).map(([file, after]) => ({ file, before: original.get(file)!, after }));
  if (options.dryRun) {
    if (options.json) return printJson({ changes: rows, would_write: Object.fromEntries(writes.map((w) => [w.file, w.after])) });
    for (const row of rows) printLine(describe(row, remove, true));
    for (const w of writes) printLine(`would write ${w.file}:\n${w.after}`);
    return;
  }
  for (const w of writes) applyEdit(w);
  if (options.json) return printJson(rows);
  for (const row of rows) printLine(describe(row, remove, false));
}

function describe(r: Row, remove: boolean, dryRun: boolean): string {
  if ('skipped' in r) return `${r.cli}: ${r.part === 'mcp' ? 'MCP server ' : ''}skipped, ${r.skipped}`;
  if (r.part === 'hooks') {
    if (!r.changed) return `${r.cli}: ${r.file} already ${remove ? 'has no bmad-bus hooks' : 'has the bmad-bus hooks'}`;
    if (dryRun) return `${r.cli}: would ${remove ? 'remove the bmad-bus hooks from' : 'install the bmad-bus hooks in'} ${r.file}`;
    return `${r.cli}: ${remove ? 'removed the bmad-bus hooks from' : 'installed the bmad-bus hooks in'} ${r.file}`;
  }
  const files = r.files.join(' and ');
  if (!r.changed) return `${r.cli}: ${files} already ${remove ? 'have no bmad-bus MCP server' : 'register the bmad-bus MCP server'}`;
  if (dryRun) return `${r.cli}: would ${remove ? 'unregister the bmad-bus MCP server from' : 'register the bmad-bus MCP server in'} ${files}`;
  return `${r.cli}: ${remove ? 'unregistered the bmad-bus MCP server from' : 'registered the bmad-bus MCP server in'} ${files}`;
}

/** `hooks status`: for each CLI, whether its settings hold the bmad-bus hooks and register its MCP server. */
export function hooksStatusCommand(options: HooksOptions): void {
  const results = targets(options).map((t) => {
    if (!t.file) return { cli: t.cli, skipped: t.skipped };
    return {
      cli: t.cli,
      file: t.file,
      hooks: hooksInstalled(t.cli, t.file, BIN),
      mcp: mcpRegistered(t.cli, t.scope, t.cwd, serverCommand(options)),
      mcp_files: mcpConfigFiles(t.cli, t.scope, t.cwd),
    };
  });
  if (options.json) return printJson(results);
  for (const r of results) {
    if (!('hooks' in r)) printLine(`${r.cli}: skipped, ${r.skipped}`);
    else printLine(`${r.cli}: ${r.hooks} (${r.file}); MCP server ${r.mcp} (${(r.mcp_files ?? []).join(', ')})`);
  }
}
