import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, errorMessage } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { isValidAddress, isValidName } from '../bus/names.js';
import { send } from '../client/send.js';
import { traceMessage } from '../client/trace.js';
import { lastMessages } from '../journal/last-messages.js';
import { journalEnd } from '../journal/segments.js';
import { capturePane } from '../tmux/pane-capture.js';
import { LOOPBACK, cookieFor, sameOrigin, sameToken, tokenOf } from './web-auth.js';
import { WebStream, webSnapshot } from './web-stream.js';

/** The page's files, shipped in the package (`web/`), read once at start: nothing is fetched at run time. */
const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'web');
const ASSETS: Record<string, string> = { '/': 'index.html', '/assets/app.js': 'app.js', '/assets/app.css': 'app.css' };
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
/** Every answer: no script, style or connection from anywhere else, no framing, no sniffing. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};
const MAX_BODY = 1024 * 1024;

export interface WebServerOptions {
  layout: Layout;
  token: string;
  host: string;
  port: number;
  tmuxSocket?: string | undefined;
}

export interface RunningWeb {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * `bmad-bus web`: the team at a glance in a browser, on node:http (no
 * framework: a handful of routes, and start-up stays at Node's own). Every
 * request needs the access token: `?token=` on the first page, which sets
 * it as an HttpOnly, SameSite=Strict cookie; without it, 401 and nothing
 * else. POSTs must come from this origin. The page renders every body as
 * text, and the Content-Security-Policy forbids any inline script anyway.
 */
export async function startWebServer(options: WebServerOptions): Promise<RunningWeb> {
  const assets = new Map(Object.entries(ASSETS).map(([route, file]) => [route, { body: fs.readFileSync(path.join(WEB_DIR, file)), type: TYPES[path.extname(file)]! }]));
  const stream = new WebStream(options.layout, options.tmuxSocket);
  const sockets = new Set<net.Socket>();
  let origins: string[] = [];
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: errorMessage(error) });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Browsers ask for it on their own, without the cookie on a first visit: nothing there, and no error in the console.
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS).end();
      return;
    }
    if (!sameToken(tokenOf(req, url), options.token)) {
      res.writeHead(401, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('401: this page needs the access token that `bmad-bus web` printed\n');
      return;
    }
    const asset = req.method === 'GET' ? assets.get(url.pathname) : undefined;
    if (asset) {
      // The token leaves the address bar once it is in the cookie (history, screenshots, shoulder-surfers).
      if (url.searchParams.has('token')) {
        res.writeHead(303, { ...SECURITY_HEADERS, 'Set-Cookie': cookieFor(options.token), Location: url.pathname }).end();
        return;
      }
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': asset.type }).end(asset.body);
      return;
    }
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /api/snapshot') return json(res, 200, await webSnapshot(stream));
    if (route === 'GET /api/messages') return json(res, 200, messagesBefore(options.layout, url));
    if (route === 'GET /api/stream') return stream.attach(req, res, SECURITY_HEADERS);
    if (req.method === 'GET' && url.pathname.startsWith('/api/trace/')) {
      try {
        return json(res, 200, traceMessage(options.layout, decodeURIComponent(url.pathname.slice('/api/trace/'.length))));
      } catch (error) {
        return json(res, error instanceof UsageError ? 404 : 500, { error: errorMessage(error) });
      }
    }
    if (req.method === 'GET' && url.pathname.startsWith('/api/pane/')) return pane(res, decodeURIComponent(url.pathname.slice('/api/pane/'.length)));
    if (route === 'POST /api/send') {
      if (!sameOrigin(req, origins, !LOOPBACK.has(options.host))) return json(res, 403, { error: 'Origin is not this page' });
      return sendFrom(req, res);
    }
    json(res, 404, { error: `no ${route}` });
  }

  async function pane(res: http.ServerResponse, name: string): Promise<void> {
    if (!isValidName(name)) return json(res, 400, { error: 'not an agent name' });
    const agent = readRegistry(options.layout).agents[name];
    if (!agent?.tmux) return json(res, 404, { error: agent ? `${name} has no tmux pane` : `no agent named ${name}` });
    try {
      json(res, 200, { agent: name, screen: await capturePane(agent.tmux, 200, agent.tmux_socket ?? options.tmuxSocket) });
    } catch (error) {
      json(res, 502, { error: errorMessage(error) });
    }
  }

  async function sendFrom(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let input: { to?: unknown; body?: unknown; from?: unknown };
    try {
      input = JSON.parse(await readBody(req)) as typeof input;
    } catch (error) {
      return json(res, 400, { error: `expected a JSON object {to, body, from?}: ${errorMessage(error)}` });
    }
    const from = input.from === undefined || input.from === '' ? 'user' : input.from;
    if (typeof input.to !== 'string' || !isValidAddress(input.to)) return json(res, 400, { error: 'to: expected an agent name, *, role:R, group:G or leader:G' });
    if (typeof from !== 'string' || !isValidName(from)) return json(res, 400, { error: 'from: expected a name like dev-1' });
    if (input.body === undefined || input.body === '') return json(res, 400, { error: 'body: expected text' });
    try {
      const [sent] = await send(options.layout, { to: input.to, from, body: input.body });
      json(res, 200, { id: sent!.id });
    } catch (error) {
      json(res, 400, { error: errorMessage(error) });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  origins = [`http://${shown}:${port}`, ...(options.host === '127.0.0.1' ? [`http://localhost:${port}`] : [])];
  stream.start();
  return {
    url: `http://${shown}:${port}/?token=${options.token}`,
    port,
    close: async () => {
      stream.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** `?before=OFFSET&limit=N`: the newest N messages older than OFFSET, oldest first, and where to page on. */
function messagesBefore(layout: Layout, url: URL): { messages: Array<{ offset: number; envelope: unknown }>; before: number | null } {
  const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 200) || 200));
  const beforeParam = url.searchParams.get('before');
  const end = beforeParam === null ? journalEnd(layout.journalDir) : Math.max(0, Number(beforeParam) || 0);
  const found = lastMessages(layout.journalDir, end, limit);
  const first = found[0];
  return { messages: found.map((m) => ({ offset: m.offset, envelope: m.envelope })), before: first && found.length === limit ? first.offset : null };
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(value));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error(`longer than ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
