import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../bus/errors.js';
import { applyEdit, jsonText, objectAt, parseJsonObject, readText, setOrDelete, setTomlTable, type FileEdit } from './config-files.js';
import type { HookCli } from './hook-events.js';
import type { HookScope } from './hook-config.js';

/**
 * Registering `bmad-bus mcp` as an MCP server in each agent CLI's own
 * configuration, next to what the user has there (merged, never clobbered;
 * uninstall takes out only ours), and letting the CLI call its tools without
 * a permission prompt:
 *
 * - Claude Code: `.mcp.json` in the project (`mcpServers`), approved and its
 *   tools allowed in `.claude/settings.local.json` (`enabledMcpjsonServers`,
 *   `permissions.allow: ["mcp__bmad-bus"]`); user scope: `~/.claude.json`
 *   and `~/.claude/settings.json`.
 * - Codex: `[mcp_servers.bmad-bus]` in `$CODEX_HOME/config.toml` (user scope
 *   only), passing `BMAD_AGENT`, `BMAD_BUS_DIR`, `BMAD_TMUX_SOCKET` through
 *   (Codex starts servers with a bare environment) and approving its tools.
 * - Gemini CLI and Qwen Code: `mcpServers` in `.gemini/settings.json` /
 *   `.qwen/settings.json`, `trust: true` (no confirmation per call).
 *
 * The server's identity comes from `$BMAD_AGENT` in the CLI's environment
 * (`up` sets it per pane), so agents sharing a project directory share one
 * entry; `agent` pins one instead.
 */

/** The name the server has in every CLI's config (Claude Code calls its tools `mcp__bmad-bus__<tool>`). */
export const MCP_NAME = 'bmad-bus';
/** Claude Code's permission rule for every tool of the server. */
export const CLAUDE_MCP_RULE = `mcp__${MCP_NAME}`;
/** What Codex must pass through to the server (it starts MCP servers with a minimal environment). */
const PASSED_ENV = ['BMAD_AGENT', 'BMAD_BUS_DIR', 'BMAD_TMUX_SOCKET'];

export interface McpServerCommand {
  /** The bmad-bus executable (absolute). */
  bin: string;
  /** The bus root, when it must be fixed rather than taken from `$BMAD_BUS_DIR` at run time. */
  dir?: string;
  /** The agent, when fixed rather than taken from `$BMAD_AGENT`. */
  agent?: string;
}

/** The argv after the executable: `[--dir D] mcp [--agent A]`. */
export function mcpArgs(command: McpServerCommand): string[] {
  return [...(command.dir ? ['--dir', command.dir] : []), 'mcp', ...(command.agent ? ['--agent', command.agent] : [])];
}

/** The files a CLI's MCP registration touches, in order. */
export function mcpConfigFiles(cli: HookCli, scope: HookScope, cwd: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME || os.homedir();
  switch (cli) {
    case 'claude':
      return scope === 'user'
        ? [path.join(home, '.claude.json'), path.join(home, '.claude', 'settings.json')]
        : [path.join(cwd, '.mcp.json'), path.join(cwd, '.claude', 'settings.local.json')];
    case 'gemini':
      return [path.join(scope === 'user' ? home : cwd, '.gemini', 'settings.json')];
    case 'qwen':
      return [path.join(scope === 'user' ? home : cwd, '.qwen', 'settings.json')];
    case 'codex':
      if (scope === 'project') throw new UsageError('Codex reads its MCP servers from $CODEX_HOME/config.toml only: use --scope user');
      return [path.join(env.CODEX_HOME || path.join(home, '.codex'), 'config.toml')];
  }
}

export interface McpPlan {
  cli: HookCli;
  edits: FileEdit[];
}

/** What registering (or, with `remove`, unregistering) the server would write; nothing is written here. */
export function planMcp(
  cli: HookCli, scope: HookScope, cwd: string, command: McpServerCommand, remove = false, env: NodeJS.ProcessEnv = process.env, read: (file: string) => string = readText,
): McpPlan {
  const files = mcpConfigFiles(cli, scope, cwd, env);
  const edit = (file: string, change: (text: string) => string): FileEdit => {
    const before = read(file);
    return { file, before, after: change(before) };
  };
  const args = mcpArgs(command);
  switch (cli) {
    case 'claude': {
      const entry = { type: 'stdio', command: command.bin, args };
      return {
        cli,
        edits: [
          edit(files[0]!, (text) => jsonServers(text, files[0]!, 'mcpServers', remove ? undefined : entry)),
          edit(files[1]!, (text) => claudePermissions(text, files[1]!, scope, remove)),
        ],
      };
    }
    case 'gemini':
    case 'qwen':
      return { cli, edits: [edit(files[0]!, (text) => jsonServers(text, files[0]!, 'mcpServers', remove ? undefined : { command: command.bin, args, trust: true }))] };
    case 'codex':
      return { cli, edits: [edit(files[0]!, (text) => setTomlTable(text, `mcp_servers.${MCP_NAME}`, remove ? undefined : codexTable(command.bin, args)))] };
  }
}

/** Writes a plan's files; the ones that changed. */
export function applyMcpPlan(plan: McpPlan): string[] {
  return plan.edits.filter((e) => applyEdit(e)).map((e) => e.file);
}

/** Whether the CLI's config registers the server as `install` would. */
export function mcpRegistered(cli: HookCli, scope: HookScope, cwd: string, command: McpServerCommand, env: NodeJS.ProcessEnv = process.env): 'registered' | 'partial' | 'absent' {
  const install = planMcp(cli, scope, cwd, command, false, env);
  if (install.edits.every((e) => e.after === e.before)) return 'registered';
  const uninstall = planMcp(cli, scope, cwd, command, true, env);
  return uninstall.edits.some((e) => e.after !== e.before) ? 'partial' : 'absent';
}

export interface RegisterMcpOptions extends McpServerCommand {
  cli: HookCli;
  /** The agent's working directory (its project). */
  cwd: string;
  /** Default `project`, or `user` for Codex (which has no project scope). */
  scope?: HookScope;
  env?: NodeJS.ProcessEnv;
}

/**
 * Registers the bus's MCP server for one agent's CLI — what `up` calls for an
 * agent with `mcp: true` before it starts the CLI. Idempotent; returns the
 * files it changed (none when the registration was there already).
 *
 * @example
 * registerMcpServer({ cli: 'claude', cwd: agent.cwd, bin: BIN, dir: layout.root });
 */
export function registerMcpServer(options: RegisterMcpOptions): string[] {
  const scope = options.scope ?? (options.cli === 'codex' ? 'user' : 'project');
  const { cli, cwd, env, scope: _scope, ...command } = options;
  return applyMcpPlan(planMcp(cli, scope, cwd, command, false, env));
}

/** Sets or removes `settings[key][MCP_NAME]`, leaving every other server as it was. */
function jsonServers(text: string, file: string, key: string, entry: Record<string, unknown> | undefined): string {
  const settings = parseJsonObject(text, file);
  const servers = objectAt(settings, key);
  if (entry) servers[MCP_NAME] = entry;
  else delete servers[MCP_NAME];
  const next = { ...settings };
  setOrDelete(next, key, servers);
  return jsonText(text, settings, next);
}

/** Claude Code: the project's server approved (project scope), and every tool of it allowed. */
function claudePermissions(text: string, file: string, scope: HookScope, remove: boolean): string {
  const settings = parseJsonObject(text, file);
  const next = { ...settings };
  const toggle = (list: unknown, item: string): string[] => {
    const items = (Array.isArray(list) ? list : []).filter((x): x is string => typeof x === 'string' && x !== item);
    return remove ? items : [...items, item];
  };
  const permissions = objectAt(settings, 'permissions');
  setOrDelete(permissions, 'allow', toggle(permissions.allow, CLAUDE_MCP_RULE));
  setOrDelete(next, 'permissions', permissions);
  if (scope === 'project') setOrDelete(next, 'enabledMcpjsonServers', toggle(settings.enabledMcpjsonServers, MCP_NAME));
  // Unchanged lists keep their order: an install over an install is no change.
  const same = JSON.stringify(normalized(settings)) === JSON.stringify(normalized(next));
  return same ? text : jsonText(text, settings, next);
}

/** Settings with our list items sorted, to compare "the same but reordered" as unchanged. */
function normalized(settings: Record<string, unknown>): unknown {
  const permissions = objectAt(settings, 'permissions');
  if (Array.isArray(permissions.allow)) permissions.allow = [...(permissions.allow as string[])].sort();
  const enabled = Array.isArray(settings.enabledMcpjsonServers) ? [...(settings.enabledMcpjsonServers as string[])].sort() : settings.enabledMcpjsonServers;
  return { ...settings, ...(settings.permissions !== undefined ? { permissions } : {}), ...(enabled !== undefined ? { enabledMcpjsonServers: enabled } : {}) };
}

function codexTable(bin: string, args: string[]): string[] {
  return [
    `command = ${JSON.stringify(bin)}`,
    `args = ${JSON.stringify(args)}`,
    `env_vars = ${JSON.stringify(PASSED_ENV)}`,
    // Our tools only touch the bus: no approval prompt per call.
    'default_tools_approval_mode = "approve"',
  ];
}
