// OpenAI Chat Completions (Qwen Code, opencode): POST /v1/chat/completions, `data:` chunks when streamed.
import { sendJson, sseEvent, sseHead } from './sse.js';
import { asArray, asObject, isText, type WireFormat } from './types.js';
import { isInjected } from './turns.js';

export const chat: WireFormat = {
  name: 'chat',
  userTurns(body) {
    const turns: string[] = [];
    for (const msg of asArray(asObject(body).messages).map(asObject)) {
      if (msg.role !== 'user') continue;
      const content = typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : asArray(msg.content);
      const texts = content.map(asObject).filter(isText).map((b) => String(b.text)).filter((t) => !isInjected(t));
      if (texts.length > 0) turns.push(texts.join('\n'));
    }
    return turns;
  },
  tools(body) {
    return asArray(asObject(body).tools).map(asObject).map((t) => asObject(t.function)).filter((f) => typeof f.name === 'string').map((f) => ({ name: String(f.name), schema: f.parameters }));
  },
  endsWithToolResult(body) {
    return asObject(asArray(asObject(body).messages).at(-1)).role === 'tool';
  },
  reply(res, body, reply, stream) {
    const model = String(asObject(body).model ?? 'fake-model');
    const id = `chatcmpl-fake-${Date.now()}`;
    const created = Math.floor(Date.now() / 1000);
    const toolCall = reply.kind === 'tool' ? { id: reply.id, type: 'function', function: { name: reply.name, arguments: JSON.stringify(reply.args) } } : undefined;
    const finish = reply.kind === 'text' ? 'stop' : 'tool_calls';
    const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
    if (!stream) {
      const message = reply.kind === 'text' ? { role: 'assistant', content: reply.text } : { role: 'assistant', content: null, tool_calls: [toolCall] };
      sendJson(res, 200, { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: finish }], usage });
      return;
    }
    const chunk = (delta: unknown, finishReason: string | null, extra: object = {}) => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra });
    sseHead(res);
    if (reply.kind === 'text') sseEvent(res, chunk({ role: 'assistant', content: reply.text }, null));
    else sseEvent(res, chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, ...toolCall }] }, null));
    sseEvent(res, chunk({}, finish, { usage }));
    sseEvent(res, '[DONE]');
    res.end();
  },
  rateLimit(res) {
    sendJson(res, 429, { error: { message: 'Fake rate limit reached for requests. Please try again in 1s.', type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null } }, { 'retry-after': '1' });
  },
};
