// What the CLI sent back as the results of the model's tool calls, in any of the four formats:
// the scripted mode's oracle (did the tool's answer reach the model?).
import { asArray, asObject } from './types.js';

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((b) => (typeof asObject(b).text === 'string' ? String(asObject(b).text) : JSON.stringify(b))).join('\n');
  return JSON.stringify(value);
}

/** The text of every tool result in a request body (the history a request resends included). */
export function toolResults(body: unknown): string[] {
  const b = asObject(body);
  const out: string[] = [];
  // Anthropic: user messages with tool_result blocks. OpenAI Chat: role "tool" messages.
  for (const msg of asArray(b.messages).map(asObject)) {
    if (msg.role === 'tool') out.push(text(msg.content));
    for (const block of asArray(msg.content).map(asObject)) if (block.type === 'tool_result') out.push(text(block.content));
  }
  // OpenAI Responses: function_call_output items.
  for (const item of asArray(b.input).map(asObject)) {
    if (item.type === 'function_call_output' || item.type === 'custom_tool_call_output' || item.type === 'mcp_tool_call_output') out.push(text(item.output));
  }
  // Gemini: functionResponse parts.
  for (const c of asArray(b.contents).map(asObject)) {
    for (const p of asArray(c.parts).map(asObject)) if (p.functionResponse !== undefined) out.push(text(asObject(p.functionResponse).response));
  }
  return out;
}
