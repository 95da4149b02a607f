import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/...). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(REPO, 'bin', 'bmad-bus');

/** A fresh private directory under the system temp dir; removed by the returned cleanup. */
export function tempDir(prefix = 'bmad-bus-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o700);
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh bus root path (not yet initialised) inside a fresh temp dir. */
export function tempRoot(): { root: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  return { root: path.join(dir, 'bus'), cleanup };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a child process. */
export function cli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bmad-bus ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export interface RunningRouter {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * Starts `bmad-bus router` in the foreground and waits for its ready line,
 * failing fast if it exits first. Always `stop()` it in teardown.
 */
export function startRouter(root: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningRouter> {
  return startForeground(['router', '--dir', root, ...extraArgs], 'router', { env });
}

/**
 * Starts a foreground bmad-bus command (`router`, `bridge`) and waits for its
 * `ready` line on stdout, failing fast if it exits first. `wrap` runs it
 * through another program first (`ip netns exec NS`). Always `stop()` it.
 */
export function startForeground(args: string[], what: string, options: { env?: NodeJS.ProcessEnv; wrap?: string[]; readyMs?: number } = {}): Promise<RunningRouter> {
  return new Promise((resolve, reject) => {
    const argv = [...(options.wrap ?? []), process.execPath, BIN, ...args];
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let ready = false;
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (!ready && stdout.includes('ready')) {
        ready = true;
        resolve({ child, stdout: () => stdout, stderr: () => stderr, stop });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    void exited.then((code) => {
      if (!ready) reject(new Error(`${what} exited with ${code} before it was ready\n${stderr}`));
    });
    setTimeout(() => {
      if (!ready) {
        child.kill('SIGKILL');
        reject(new Error(`${what} not ready within ${(options.readyMs ?? 15_000) / 1000}s\n${stderr}`));
      }
    }, options.readyMs ?? 15_000).unref();
  });
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
