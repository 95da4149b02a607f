// Gemini generateContent (Gemini CLI): POST /v1beta/models/M:streamGenerateContent?alt=sse,
// plus :generateContent and :countTokens for the side calls it makes.
import { sendJson, sseEvent, sseHead } from './sse.js';
import { asArray, asObject, type WireFormat } from './types.js';
import { isInjected } from './turns.js';

export const gemini: WireFormat = {
  name: 'gemini',
  userTurns(body) {
    const turns: string[] = [];
    for (const c of asArray(asObject(body).contents).map(asObject)) {
      if (c.role !== undefined && c.role !== 'user') continue;
      // Tool results come back as user-role functionResponse parts; only text parts are turns.
      const texts = asArray(c.parts).map(asObject).filter((p) => typeof p.text === 'string' && p.thought !== true).map((p) => String(p.text)).filter((t) => !isInjected(t));
      if (texts.length > 0) turns.push(texts.join('\n'));
    }
    return turns;
  },
  tools(body) {
    return asArray(asObject(body).tools)
      .flatMap((t) => asArray(asObject(t).functionDeclarations))
      .map(asObject)
      .map((f) => ({ name: String(f.name), schema: f.parametersJsonSchema ?? f.parameters }));
  },
  endsWithToolResult(body) {
    const last = asObject(asArray(asObject(body).contents).at(-1));
    return asArray(last.parts).some((p) => asObject(p).functionResponse !== undefined);
  },
  reply(res, _body, reply, stream) {
    const part = reply.kind === 'text' ? { text: reply.text } : { functionCall: { name: reply.name, args: reply.args, id: reply.id } };
    const answer = {
      candidates: [{ content: { role: 'model', parts: [part] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
      modelVersion: 'gemini-fake',
    };
    if (!stream) {
      sendJson(res, 200, answer);
      return;
    }
    sseHead(res);
    sseEvent(res, answer);
    res.end();
  },
  rateLimit(res, daily) {
    // The shape the real API sends for a per-minute quota, so Gemini CLI takes it as retryable.
    sendJson(res, 429, {
      error: {
        code: 429,
        message: 'You exceeded your current quota (fake model). Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_requests, limit: 5. Please retry in 1s.',
        status: 'RESOURCE_EXHAUSTED',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests', quotaId: daily ? 'GenerateRequestsPerDayPerProjectPerModel' : 'GenerateRequestsPerMinutePerProjectPerModel' }] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
        ],
      },
    });
  },
};
