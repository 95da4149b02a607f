// Runs every compiled test file with Node's test runner (whose summary CI reads).
// Node 20 does not expand globs for --test, so list the files here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..', 'dist', 'test');
const only = process.argv.slice(2);
const files = fs
  .readdirSync(dir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js') && !f.includes('bench'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
  .map((f) => path.join(dir, f));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
