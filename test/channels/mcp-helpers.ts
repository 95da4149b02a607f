import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Envelope } from '../../src/bus/envelope.js';
import { Layout } from '../../src/bus/layout.js';
import { readJournal } from '../../src/journal/reader.js';
import { BIN } from '../helpers/bus.js';

/** One `bmad-bus mcp` child driven by the SDK's own client over stdio. */
export interface McpSession {
  client: Client;
  pid: number;
  stderr: () => string;
  /** Calls a tool that must succeed; returns its parsed JSON answer. */
  call: (tool: string, args?: Record<string, unknown>) => Promise<any>;
  /** Calls a tool that must fail; returns the error text. */
  fail: (tool: string, args?: Record<string, unknown>) => Promise<string>;
  close: () => Promise<void>;
}

export async function startMcp(root: string, agent: string | undefined, env: Record<string, string> = {}): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, '--dir', root, 'mcp', ...(agent ? ['--agent', agent] : [])],
    env: { ...(process.env as Record<string, string>), NO_COLOR: '1', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'bmad-bus-test', version: '1.0.0' });
  await client.connect(transport);
  const pid = transport.pid!;
  const raw = async (tool: string, args: Record<string, unknown>): Promise<CallToolResult> => (await client.callTool({ name: tool, arguments: args })) as CallToolResult;
  const text = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  return {
    client,
    pid,
    stderr: () => stderr,
    call: async (tool, args = {}) => {
      const r = await raw(tool, args);
      assert.ok(!r.isError, `${tool} ${JSON.stringify(args)} failed: ${text(r)}`);
      return JSON.parse(text(r));
    },
    fail: async (tool, args = {}) => {
      const r = await raw(tool, args);
      assert.equal(r.isError, true, `${tool} ${JSON.stringify(args)} should have failed, answered ${text(r)}`);
      return text(r);
    },
    close: async () => {
      await client.close().catch(() => undefined);
      await waitGone(pid);
    },
  };
}

/** Waits until a process is gone; SIGKILL after 5 s. */
export async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      if (!alive(pid)) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every envelope in the bus's journal. */
export function journal(root: string): Envelope[] {
  const layout = new Layout(root);
  const out: Envelope[] = [];
  let from = 0;
  for (;;) {
    const { lines, next } = readJournal(layout.journalDir, from);
    for (const l of lines) out.push(JSON.parse(l.line) as Envelope);
    if (lines.length === 0) return out;
    from = next;
  }
}
