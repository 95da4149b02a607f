// The table a real-CLI suite prints when its file ends: one row per case, which the case fills in.
import { after } from 'node:test';

/** Runs one case with its row: `[cli, version, label, 'FAILED', '-'…, wall s]` until the case fills it in. */
export type Measured = (name: string, label: string, version: string, body: (row: string[]) => Promise<void>) => () => Promise<void>;

/** Prints `header` and the rows of every case once the file's tests are done; the last column is each case's wall time in seconds. */
export function caseTable(header: string[]): Measured {
  const rows: string[][] = [header];
  after(() => {
    const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  });
  return (name, label, version, body) => async () => {
    const started = Date.now();
    const row = [name, version, label, 'FAILED', ...header.slice(4).map(() => '-')];
    rows.push(row);
    try {
      await body(row);
    } finally {
      row[header.length - 1] = ((Date.now() - started) / 1000).toFixed(0);
    }
  };
}
