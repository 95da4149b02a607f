import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { UsageError } from '../bus/errors.js';
import { writeFileAtomic } from '../bus/fs-safety.js';
import type { Layout } from '../bus/layout.js';
import { openRoot } from '../bus/root.js';
import { LOOPBACK, newToken } from '../channels/web-auth.js';
import { printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export interface WebCommandOptions extends GlobalOptions {
  port?: string;
  host?: string;
  open?: boolean;
  allowRemote?: boolean;
  newToken?: boolean;
}

/**
 * `bmad-bus web`: serves the team's page until SIGTERM / SIGINT and prints
 * its URL with the access token. The token is kept in the root
 * (state/web-token, mode 0600) so a restart keeps the URL; `--new-token`
 * makes another one, which locks out every page opened with the old.
 */
export async function webCommand(options: WebCommandOptions): Promise<void> {
  const host = options.host ?? process.env.BMAD_WEB_HOST ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !options.allowRemote) {
    throw new UsageError(`--host ${host} lets other machines reach the page: add --allow-remote if that is what you want (the token is then all that protects it)`);
  }
  const port = Number(options.port ?? process.env.BMAD_WEB_PORT ?? 7341);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`Expected --port to be 0..65535, got \`${options.port}\``);
  const layout = openRoot(rootOf(options));
  const token = webToken(layout, options.newToken ?? false);
  const { startWebServer } = await import('../channels/web-server.js');
  let web;
  try {
    web = await startWebServer({ layout, token, host: host === 'localhost' ? '127.0.0.1' : host, port, tmuxSocket: tmuxSocketOf(options) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`Port ${port} on ${host} is in use (another bmad-bus web?): pick one with --port`);
    throw error;
  }
  if (!LOOPBACK.has(host)) process.stderr.write(`bmad-bus: warning: the page listens on ${host}, reachable from other machines; anyone with the URL below can read and send\n`);
  writeFileAtomic(layout.webStatusFile, `${JSON.stringify({ pid: process.pid, url: web.url.replace(/\?token=.*/, ''), port: web.port, started: new Date().toISOString() })}\n`);
  printLine(`bmad-bus web ready: ${web.url}`);
  if (options.open) openBrowser(web.url);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    process.once('disconnect', resolve);
  });
  await web.close();
  fs.rmSync(layout.webStatusFile, { force: true });
}

/** The root's access token: made once (0600), kept across restarts. */
export function webToken(layout: Layout, renew: boolean): string {
  if (!renew) {
    try {
      const token = fs.readFileSync(layout.webTokenFile, 'utf8').trim();
      if (token.length >= 32) return token;
    } catch {
      // none yet
    }
  }
  const token = newToken();
  writeFileAtomic(layout.webTokenFile, `${token}\n`, 0o600);
  return token;
}

function openBrowser(url: string): void {
  const child = spawn(process.platform === 'darwin' ? 'open' : 'xdg-open', [url], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write('bmad-bus: --open: no xdg-open here; open the URL above yourself\n'));
  child.unref();
}
