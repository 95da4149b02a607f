#!/usr/bin/env node
// Installs the five real agent CLIs into a cache outside the package (about 1 GB together,
// so never dependencies): one npm prefix per CLI version, so versions coexist.
//   node test/agents/install-agents.mjs            the versions pinned in versions.json
//   node test/agents/install-agents.mjs --latest   the newest ones (recorded in <cache>/latest.json)
//   node test/agents/install-agents.mjs --only claude,codex
// Idempotent: a CLI whose folder holds a finished marker is skipped. One CLI failing prints
// one line and the others go on; the exit code is 1 when any failed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const MARKER = 'bmad-agent.json';

export function cacheDir() {
  if (process.env.BMAD_AGENTS_CACHE) return process.env.BMAD_AGENTS_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'bmad-bus', 'agents');
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, ...opts });
}

function lastLine(text) {
  const lines = String(text ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.filter((l) => /err|fail/i.test(l)).pop() ?? lines.pop() ?? '';
}

function latestVersion(pkg) {
  const r = run('npm', ['view', pkg, 'version'], { timeout: 60_000 });
  if (r.status !== 0) throw new Error(`npm view ${pkg}: ${lastLine(r.stderr)}`);
  return r.stdout.trim();
}

// npm 11 may skip claude-code's postinstall, which leaves bin/claude.exe a stub; the
// platform package ships the real native binary, so run that one.
function locateBin(name, spec, prefix) {
  const nm = path.join(prefix, 'node_modules');
  if (name === 'claude') {
    for (const p of ['claude-code-linux-x64', 'claude-code-linux-x64-musl', 'claude-code-linux-arm64', 'claude-code-linux-arm64-musl']) {
      const bin = path.join(nm, '@anthropic-ai', p, 'claude');
      if (fs.existsSync(bin)) return bin;
    }
    throw new Error('no native binary under node_modules/@anthropic-ai/claude-code-linux-*/claude');
  }
  const link = path.join(nm, '.bin', spec.bin);
  if (!fs.existsSync(link)) throw new Error(`no ${spec.bin} in node_modules/.bin`);
  return fs.realpathSync(link);
}

// A quick `--version` in a throw-away HOME proves the binary starts on this Node.
function probeVersion(bin) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bmad-agents-probe-'));
  try {
    const r = run(bin, ['--version'], { timeout: 60_000, env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local/share'), XDG_CACHE_HOME: path.join(home, '.cache'), XDG_STATE_HOME: path.join(home, '.local/state'), DISABLE_AUTOUPDATER: '1', OPENCODE_DISABLE_AUTOUPDATE: '1' } });
    if (r.status !== 0) throw new Error(`${path.basename(bin)} --version exited ${r.status ?? r.signal}: ${lastLine(r.stderr || r.stdout)}`);
    return lastLine(r.stdout);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

function install(name, spec, version, cache) {
  const dir = path.join(cache, `${name}@${version}`);
  const markerPath = path.join(dir, MARKER);
  if (fs.existsSync(markerPath)) return { ...JSON.parse(fs.readFileSync(markerPath, 'utf8')), skipped: true };
  // Install beside the final folder and rename at the end, so a killed install never looks finished.
  const tmp = `${dir}.partial-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ name: `bmad-agents-${name}`, private: true }) + '\n');
    const pkgs = [`${spec.package}@${version}`, ...(spec.extras ?? [])];
    const r = run('npm', ['install', '--prefix', tmp, '--no-audit', '--no-fund', '--loglevel=error', '--no-update-notifier', ...pkgs]);
    if (r.status !== 0) throw new Error(`npm install ${pkgs.join(' ')}: ${lastLine(r.stderr || r.stdout) || `exit ${r.status ?? r.signal}`}`);
    const bin = locateBin(name, spec, tmp);
    const reported = probeVersion(bin);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    const marker = { name, package: spec.package, version, bin: path.join(dir, path.relative(tmp, bin)), reported, installedAt: new Date().toISOString() };
    fs.writeFileSync(markerPath, JSON.stringify(marker, null, 2) + '\n');
    return marker;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function main(argv) {
  const latest = argv.includes('--latest');
  const onlyArg = argv.find((a) => a.startsWith('--only='))?.slice(7) ?? (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined);
  const only = onlyArg ? onlyArg.split(',') : undefined;
  const pins = JSON.parse(fs.readFileSync(path.join(here, 'versions.json'), 'utf8'));
  const cache = cacheDir();
  fs.mkdirSync(cache, { recursive: true });
  console.log(`agent CLIs cache: ${cache}`);
  const chosen = {};
  let failed = 0;
  for (const [name, spec] of Object.entries(pins)) {
    if (only && !only.includes(name)) continue;
    try {
      const version = latest ? latestVersion(spec.package) : spec.version;
      chosen[name] = version;
      if (latest && version !== spec.version) console.log(`${name}: newest ${spec.package}@${version} differs from the pin ${spec.version}`);
      const m = install(name, spec, version, cache);
      console.log(`${name.padEnd(9)} ${version.padEnd(10)} ${m.skipped ? 'already installed' : 'installed'}  ${m.bin}  (${m.reported})`);
    } catch (err) {
      failed++;
      console.error(`${name.padEnd(9)} FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // The tests read this to run against the newest versions (BMAD_AGENTS_LATEST=1).
  if (latest) fs.writeFileSync(path.join(cache, 'latest.json'), JSON.stringify(chosen, null, 2) + '\n');
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  process.exitCode = main(process.argv.slice(2));
}
