// npm run test:agents: installs the agent CLIs (skipped when cached), then runs the compiled
// *.agents.js files one at a time (each drives real CLIs; two at once would starve a 2-core box).
// Node 20 does not expand globs for --test, so the files are listed here.
//   node test/agents/run.mjs [--latest] [--no-install] [name-filter ...]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const args = process.argv.slice(2);
const latest = args.includes('--latest');
const only = args.filter((a) => !a.startsWith('--'));

if (!args.includes('--no-install')) {
  // A CLI that fails to install is skipped by the tests with the reason, so go on either way.
  const r = spawnSync(process.execPath, [path.join(here, 'install-agents.mjs'), ...(latest ? ['--latest'] : [])], { stdio: 'inherit' });
  if (r.status !== 0) console.error('install-agents: some CLIs did not install; their tests will be skipped');
}

const dir = path.join(here, '..', '..', 'dist', 'test', 'agents');
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.agents.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
  .map((f) => path.join(dir, f));
if (files.length === 0) {
  console.error('no *.agents.js files found (run tsc first)');
  process.exit(1);
}
const env = { ...process.env, ...(latest ? { BMAD_AGENTS_LATEST: '1' } : {}) };
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=3600000', ...files], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
