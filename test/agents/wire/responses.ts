// OpenAI Responses (Codex): POST /v1/responses, always streamed as typed SSE events.
import { sendJson, sseEvent, sseHead } from './sse.js';
import { asArray, asObject, isText, type WireFormat } from './types.js';
import { isInjected } from './turns.js';

function items(body: unknown): Record<string, unknown>[] {
  const input = asObject(body).input;
  return typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : asArray(input).map(asObject);
}

export const responses: WireFormat = {
  name: 'responses',
  userTurns(body) {
    const turns: string[] = [];
    for (const item of items(body)) {
      if (item.role !== 'user' || (item.type !== undefined && item.type !== 'message')) continue;
      const content = typeof item.content === 'string' ? [{ type: 'input_text', text: item.content }] : asArray(item.content);
      const texts = content.map(asObject).filter(isText).map((b) => String(b.text)).filter((t) => !isInjected(t));
      if (texts.length > 0) turns.push(texts.join('\n'));
    }
    return turns;
  },
  tools(body) {
    // Function tools carry `parameters`; built-in ones (web_search, local_shell) have none.
    return asArray(asObject(body).tools).map(asObject).filter((t) => typeof t.name === 'string').flatMap((t) =>
      // A namespace (Codex's MCP servers, its sub-agents) holds function tools of its own.
      t.type === 'namespace'
        ? asArray(t.tools).map(asObject).filter((f) => typeof f.name === 'string').map((f) => ({ name: String(f.name), schema: f.parameters, namespace: String(t.name) }))
        : [{ name: String(t.name), schema: t.parameters }],
    );
  },
  endsWithToolResult(body) {
    const last = items(body).at(-1) ?? {};
    return last.type === 'function_call_output' || last.type === 'custom_tool_call_output' || last.type === 'local_shell_call_output';
  },
  reply(res, body, reply) {
    const model = String(asObject(body).model ?? 'gpt-fake');
    const rid = `resp_fake_${Date.now()}`;
    const item =
      reply.kind === 'text'
        ? { type: 'message', id: `msg_${rid}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: reply.text, annotations: [] }] }
        : { type: 'function_call', id: `fc_${rid}`, call_id: reply.id, name: reply.name, ...(reply.namespace ? { namespace: reply.namespace } : {}), arguments: JSON.stringify(reply.args), status: 'completed' };
    const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 };
    const response = { id: rid, object: 'response', created_at: Math.floor(Date.now() / 1000), model, status: 'in_progress', output: [] as unknown[] };
    sseHead(res);
    sseEvent(res, { type: 'response.created', response }, 'response.created');
    sseEvent(res, { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', ...(reply.kind === 'text' ? { content: [] } : {}) } }, 'response.output_item.added');
    if (reply.kind === 'text') {
      sseEvent(res, { type: 'response.output_text.delta', item_id: item.id, output_index: 0, content_index: 0, delta: reply.text }, 'response.output_text.delta');
    }
    sseEvent(res, { type: 'response.output_item.done', output_index: 0, item }, 'response.output_item.done');
    sseEvent(res, { type: 'response.completed', response: { ...response, status: 'completed', output: [item], usage } }, 'response.completed');
    res.end();
  },
  rateLimit(res) {
    sendJson(res, 429, { error: { message: 'Fake rate limit reached for requests. Please try again in 1s.', type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null } }, { 'retry-after': '1' });
  },
};
