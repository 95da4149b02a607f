import type { TaskView } from '../team/task-model.js';
import { sanitize } from '../bus/text-cells.js';
import { renderTable, type TableColumn } from '../bus/text-table.js';

const COLORS: Record<string, string> = {
  critical: '\x1b[1;31m',
  high: '\x1b[33m',
  assigned: '\x1b[36m',
  done: '\x1b[32m',
  failed: '\x1b[31m',
  cancelled: '\x1b[2m',
  blocked: '\x1b[31m',
  ready: '\x1b[32m',
};
const RESET = '\x1b[0m';

/**
 * The human table of `task list`: one row per task with its readiness
 * (`ready`, `waits t1,t2`, `blocked t3` when a dependency failed), whom it
 * blocks, and who has it. The title takes what is left of `width`.
 */
export function formatTaskTable(tasks: readonly TaskView[], options: { width?: number; color?: boolean } = {}): string[] {
  const rows = tasks.map((t) => [
    t.id,
    t.priority,
    t.status,
    readiness(t),
    t.blocks.length > 0 ? t.blocks.join(',') : '-',
    t.assignee ?? '-',
    t.to ? `@${t.to}` : t.role ?? '-',
    t.project ?? '-',
    sanitize(t.title) + detail(t),
  ]);
  // The title takes what is left of the width; the other columns give up their tail past 24 columns.
  const columns: TableColumn[] = ['ID', 'PRIORITY', 'STATUS', 'READY', 'BLOCKS', 'ASSIGNEE', 'FOR', 'PROJECT'].map((header) => ({ header, maxWidth: 24 }));
  columns.push({ header: 'TITLE' });
  return renderTable(columns, rows, {
    ...(options.width ? { width: options.width } : {}),
    paint: (text, { row, column, value }) => {
      const code = options.color === true && row >= 0 ? colorOf(column, value) : undefined;
      return code ? `${code}${text}${RESET}` : text;
    },
  });
}

function readiness(t: TaskView): string {
  if (t.status !== 'pending') return '-';
  if (t.blockedBy.length > 0) return `blocked ${t.blockedBy.join(',')}`;
  if (t.waitingOn.length > 0) return `waits ${t.waitingOn.join(',')}`;
  return 'ready';
}

function detail(t: TaskView): string {
  if (t.status === 'failed' && t.reason) return ` — ${sanitize(t.reason)}`;
  if (t.status === 'done' && t.result) return ` — ${sanitize(t.result)}`;
  return '';
}

function colorOf(column: number, cell: string): string | undefined {
  if (column === 1 || column === 2) return COLORS[cell];
  if (column === 3) return cell.startsWith('blocked') ? COLORS.blocked : cell === 'ready' ? COLORS.ready : undefined;
  if (column === 4 && cell !== '-') return COLORS.high;
  return undefined;
}
