import { runTmux } from './plain.js';

/** The last `lines` rows of a pane's screen and history as text: wrapped lines joined (-J), trailing blank rows dropped before the count. */
export async function capturePane(target: string, lines: number, socket: string | undefined): Promise<string> {
  const out = await runTmux(['capture-pane', '-p', '-J', '-t', target, '-S', `-${lines}`], { socket });
  const rows = out.split('\n');
  while (rows.length > 0 && rows[rows.length - 1]!.trim() === '') rows.pop();
  return rows.slice(-lines).join('\n');
}
