// Anthropic Messages (Claude Code): POST /v1/messages, SSE when `stream: true`.
import type http from 'node:http';
import { sendJson, sseEvent, sseHead } from './sse.js';
import { asArray, asObject, isText, type WireFormat } from './types.js';
import { isInjected } from './turns.js';

function blocks(content: unknown): unknown[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : asArray(content);
}

export const anthropic: WireFormat = {
  name: 'anthropic',
  userTurns(body) {
    const turns: string[] = [];
    for (const msg of asArray(asObject(body).messages).map(asObject)) {
      if (msg.role !== 'user') continue;
      // One user message may hold the prompt beside <system-reminder> blocks and tool results.
      const texts = blocks(msg.content).map(asObject).filter(isText).map((b) => String(b.text)).filter((t) => !isInjected(t));
      if (texts.length > 0) turns.push(texts.join('\n'));
    }
    return turns;
  },
  tools(body) {
    return asArray(asObject(body).tools).map(asObject).map((t) => ({ name: String(t.name), schema: t.input_schema }));
  },
  endsWithToolResult(body) {
    const last = asObject(asArray(asObject(body).messages).at(-1));
    return last.role === 'user' && blocks(last.content).some((b) => asObject(b).type === 'tool_result');
  },
  reply(res, body, reply, stream) {
    const model = String(asObject(body).model ?? 'claude-fake');
    const block = reply.kind === 'text' ? { type: 'text', text: reply.text } : { type: 'tool_use', id: reply.id, name: reply.name, input: reply.args };
    const stopReason = reply.kind === 'text' ? 'end_turn' : 'tool_use';
    const usage = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const id = `msg_fake_${Date.now()}`;
    if (!stream) {
      sendJson(res, 200, { id, type: 'message', role: 'assistant', model, content: [block], stop_reason: stopReason, stop_sequence: null, usage });
      return;
    }
    sseHead(res);
    sseEvent(res, { type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }, 'message_start');
    if (reply.kind === 'text') {
      sseEvent(res, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start');
      sseEvent(res, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: reply.text } }, 'content_block_delta');
    } else {
      sseEvent(res, { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: reply.id, name: reply.name, input: {} } }, 'content_block_start');
      sseEvent(res, { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(reply.args) } }, 'content_block_delta');
    }
    sseEvent(res, { type: 'content_block_stop', index: 0 }, 'content_block_stop');
    sseEvent(res, { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 5 } }, 'message_delta');
    sseEvent(res, { type: 'message_stop' }, 'message_stop');
    res.end();
  },
  rateLimit(res: http.ServerResponse) {
    sendJson(res, 429, { type: 'error', error: { type: 'rate_limit_error', message: 'Fake rate limit: this request would exceed your rate limit.' } }, { 'retry-after': '1', 'anthropic-ratelimit-requests-remaining': '0' });
  },
};
