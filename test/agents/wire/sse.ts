import type http from 'node:http';

/** Starts a server-sent-events answer. */
export function sseHead(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

/** One SSE event; `event` is omitted for formats that only send `data:` lines (OpenAI chat, Gemini). */
export function sseEvent(res: http.ServerResponse, data: unknown, event?: string): void {
  const head = event ? `event: ${event}\n` : '';
  res.write(`${head}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
