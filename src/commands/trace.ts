import { formatDuration, formatTimestamp } from '../bus/human-format.js';
import { openRoot } from '../bus/root.js';
import { traceMessage, type MessageTrace } from '../client/trace.js';
import { shortBody } from './format.js';
import { printJson, printLine, rootOf, type GlobalOptions } from './context.js';

/** `bmad-bus trace ID [--json]`: queued → typed → submitted → received (or unconfirmed), per recipient, with times. */
export function traceCommand(id: string, options: GlobalOptions & { json?: boolean }): void {
  const trace = traceMessage(openRoot(rootOf(options)), id);
  if (options.json) return printJson(trace);
  for (const line of traceLines(trace)) printLine(line);
}

/** The trace as a person reads it: one line per step, times relative to queueing. */
export function traceLines(trace: MessageTrace): string[] {
  const { envelope, queued } = trace;
  const start = Date.parse(queued.at);
  const after = (at: string) => `+${formatDuration(Math.max(0, Date.parse(at) - start))}`;
  const lines = [
    `${envelope.id}  ${envelope.from} → ${envelope.to}  (${envelope.type}${envelope.thread ? `, thread ${envelope.thread}` : ''})  ${shortBody(envelope.body, 60)}`,
    `  queued       ${formatTimestamp(queued.at)}  journal offset ${queued.offset}`,
  ];
  if (trace.dead_letter) lines.push(`  dead-letter  ${formatTimestamp(trace.dead_letter.ts)}  ${trace.dead_letter.reason}: ${trace.dead_letter.error}`);
  if (trace.recipients.length === 0 && !trace.dead_letter) lines.push('  no registered recipient now');
  for (const r of trace.recipients) {
    lines.push(`  ${r.agent} (${r.via}): ${r.state}${r.waiting ? ` — waiting: ${r.waiting}` : ''}`);
    for (const step of r.steps) {
      const extra = [step.presses !== undefined ? `${step.presses} press${step.presses === 1 ? '' : 'es'}` : '', step.detail ?? ''].filter(Boolean).join(', ');
      lines.push(`    ${step.stage.padEnd(11)} ${formatTimestamp(step.at)}  ${after(step.at)}${extra ? `  ${extra}` : ''}`);
    }
  }
  return lines;
}
