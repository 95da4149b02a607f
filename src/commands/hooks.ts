import { UsageError } from '../bus/errors.js';
import { applyHookPlan, hookConfigFile, hooksInstalled, planHooks, type HookScope } from '../agents/hook-config.js';
import { HOOK_CLIS, type HookCli } from '../agents/hook-events.js';
import { BIN } from '../router/daemon-control.js';
import { printJson, printLine } from './context.js';

export interface HooksOptions {
  cli?: string;
  scope?: string;
  cwd?: string;
  dryRun?: boolean;
  json?: boolean;
}

interface Target {
  cli: HookCli;
  file?: string;
  /** Why this CLI is left out (Codex has no project scope). */
  skipped?: string;
}

function targets(options: HooksOptions): Target[] {
  const scope = (options.scope ?? 'project') as HookScope;
  if (scope !== 'project' && scope !== 'user') throw new UsageError(`Expected --scope project or user, got \`${options.scope}\``);
  if (options.cli !== undefined && !(HOOK_CLIS as readonly string[]).includes(options.cli)) {
    throw new UsageError(`Expected --cli ${HOOK_CLIS.join(', ')}, got \`${options.cli}\``);
  }
  const clis = options.cli ? [options.cli as HookCli] : HOOK_CLIS;
  const cwd = options.cwd ?? process.cwd();
  return clis.map((cli) => {
    if (cli === 'codex' && scope === 'project') {
      if (options.cli) hookConfigFile(cli, scope, cwd); // the clear error
      return { cli, skipped: 'user scope only (--scope user)' };
    }
    return { cli, file: hookConfigFile(cli, scope, cwd) };
  });
}

/** `hooks install` / `hooks uninstall`: merges bmad-bus's hooks into each CLI's settings (or takes only them out). */
export function hooksChangeCommand(remove: boolean, options: HooksOptions): void {
  const results = targets(options).map((t) => {
    if (!t.file) return { cli: t.cli, skipped: t.skipped };
    const plan = planHooks(t.cli, t.file, BIN, remove);
    const changed = plan.after !== plan.before;
    if (changed && !options.dryRun) applyHookPlan(plan);
    return { cli: t.cli, file: t.file, changed, ...(options.dryRun && changed ? { after: plan.after } : {}) };
  });
  if (options.json) return printJson(results);
  for (const r of results) {
    if (!('file' in r)) printLine(`${r.cli}: skipped, ${r.skipped}`);
    else if (!r.changed) printLine(`${r.cli}: ${r.file} already ${remove ? 'has no bmad-bus hooks' : 'has the bmad-bus hooks'}`);
    else if (options.dryRun) printLine(`${r.cli}: would write ${r.file}:\n${r.after ?? ''}`);
    else printLine(`${r.cli}: ${remove ? 'removed the bmad-bus hooks from' : 'installed the bmad-bus hooks in'} ${r.file}`);
  }
}

/** `hooks status`: for each CLI, whether its settings hold the bmad-bus hooks. */
export function hooksStatusCommand(options: HooksOptions): void {
  const results = targets(options).map((t) => (t.file ? { cli: t.cli, file: t.file, hooks: hooksInstalled(t.cli, t.file, BIN) } : { cli: t.cli, skipped: t.skipped }));
  if (options.json) return printJson(results);
  for (const r of results) printLine('hooks' in r ? `${r.cli}: ${r.hooks} (${r.file})` : `${r.cli}: skipped, ${r.skipped}`);
}
