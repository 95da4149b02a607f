import type http from 'node:http';

/** What the fake model answers one request with. */
export type Reply =
  | { kind: 'text'; text: string }
  | { kind: 'tool'; id: string; name: string; args: Record<string, unknown>; namespace?: string };

/** A function the CLI offered the model, with its JSON-schema parameters. */
export interface ToolDecl {
  name: string;
  schema: unknown;
  /** The group it was offered in (Codex offers MCP tools as OpenAI Responses `namespace` tools). */
  namespace?: string;
}

/** One wire format: how to read a request body and how to answer it. */
export interface WireFormat {
  readonly name: 'anthropic' | 'responses' | 'chat' | 'gemini';
  /** The text of each user message in the request, in order, system-injected blocks left out. */
  userTurns(body: unknown): string[];
  tools(body: unknown): ToolDecl[];
  /** True when the request answers a tool call (so the model should now say something, not call again). */
  endsWithToolResult(body: unknown): boolean;
  /** Writes the whole answer, streamed when the request asked for a stream. */
  reply(res: http.ServerResponse, body: unknown, reply: Reply, stream: boolean): void;
  /** Writes a 429 in this format's error shape; `daily` makes it a quota that retrying cannot fix (Gemini tells them apart). */
  rateLimit(res: http.ServerResponse, daily: boolean): void;
}

export type Json = Record<string, unknown>;

export function asObject(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A `{type: 'text', text}` content block. */
export function isText(b: Json): boolean {
  return (b.type === 'text' || b.type === 'input_text') && typeof b.text === 'string';
}
