import { formatDuration } from '../bus/human-format.js';
import { readRegistry } from '../bus/registry.js';
import { openRoot } from '../bus/root.js';
import { renderTable } from '../bus/text-table.js';
import { collectStatus, paneStatus } from '../team/status-report.js';
import { formatLimits } from '../team/team-limits.js';
import { printJson, printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export async function statusCommand(options: GlobalOptions & { json?: boolean }): Promise<void> {
  const layout = openRoot(rootOf(options));
  const report = await collectStatus(layout, { tmuxSocket: tmuxSocketOf(options) });
  if (options.json) {
    printJson(report);
    return;
  }
  const r = report.router;
  printLine(`bus       ${report.root}`);
  printLine(
    r.running
      ? `router    running  pid ${r.pid}${r.keeper_pid ? ` (keeper ${r.keeper_pid})` : ' (foreground)'}  up ${formatDuration((r.uptime_s ?? 0) * 1000)}  restarts ${r.restarts}  durability ${r.durability}`
      : 'router    not running (start it with `bmad-bus start`)',
  );
  if (r.disk_full_since) printLine(`disk      full since ${r.disk_full_since}: intake waits, nothing is lost; it resumes by itself when space returns`);
  if (r.running) printLine(`messages  accepted ${r.accepted}  delivered ${r.delivered}  dead-lettered ${r.dead_lettered}  held ${r.held}`);
  const b = report.bridge;
  if (b) {
    const state = !b.running ? 'not running' : b.connected ? `connected to ${b.server ?? b.servers.join(',')}` : `NOT connected (${b.servers.join(',')})`;
    printLine(`bridge    ${state}  machine ${b.machine}  stream ${b.stream}  lag ${b.lag}${b.lag_more ? '+' : ''}  pending inbound ${b.pending_inbound}  published ${b.published}  received ${b.received}  rejected ${b.rejected}`);
    if (b.last_error) printLine(`          last error ${b.last_error_at ?? ''}: ${b.last_error}`);
    for (const [name, machine] of Object.entries(b.conflicts)) printLine(`          agent name ${name} is claimed by machine ${machine} too: rename one of them`);
  }
  for (const team of report.teams ?? []) printLine(`limits    ${team.name}: ${formatLimits(team)}`);
  printLine();
  if (report.agents.length === 0) printLine('no agents');
  else {
    printLine(
      renderTable(
        ['AGENT', 'ROLE', 'DELIVER', 'PROFILE', 'STATUS', 'STATE', 'UNDELIVERED', 'WAITING'],
        report.agents.map((a) => [a.name, a.role ?? '-', a.machine ? `on ${a.machine}` : a.deliver, a.profile ?? (a.tmux ? 'auto' : '-'), a.status ?? '-', a.state ?? '-', String(a.undelivered), a.waiting ?? '']),
      ).join('\n'),
    );
  }
  const panes = await paneStatus(layout, tmuxSocketOf(options), readRegistry(layout));
  if (panes) {
    printLine();
    printLine(panes.text);
  }
}

