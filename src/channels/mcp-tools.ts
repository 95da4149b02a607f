import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { InvalidMessageError } from '../bus/errors.js';
import type { Envelope } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import { ORCHESTRATOR, parseAddress } from '../bus/names.js';
import { readRegistry } from '../bus/registry.js';
import { send } from '../client/send.js';
import { listKnowledge } from '../team/knowledge.js';
import { shareWithTeam } from '../team/knowledge-share.js';
import { collectStatus } from '../team/status-report.js';
import { PRIORITIES } from '../team/task-model.js';
import { addTask, claimTask, completeTask, failTask, listTasks, type TaskChange } from '../team/tasks.js';
import type { AckInbox } from './mcp-inbox.js';

/** What the tools work on: the bus, who is calling, and that agent's inbox. */
export interface ToolContext {
  layout: Layout;
  agent: string;
  inbox: AckInbox;
  /** The tmux server of the team's panes (agent states are read from their screens where hooks say nothing). */
  tmuxSocket?: string;
}

/** The limits of `read_inbox`: a tool call must answer well within the client's request timeout. */
export const READ_MAX = 100;
export const READ_DEFAULT = 20;
export const WAIT_MAX_SECONDS = 30;
/** A read stops adding messages past this many characters of bodies (the model's context is finite); `more` says so. */
export const READ_MAX_CHARS = 200_000;

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected a name like dev-1: [a-z0-9][a-z0-9._-]{0,63}');
const taskId = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,31}$/, 'expected a task id like t12');

const result = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });

/**
 * Runs a tool's work; a bus error becomes a tool error that names the field
 * it is about (`to: Expected an address …`). Anything thrown is answered as
 * a tool error by the SDK, so no call can take the server down.
 */
async function run(work: () => unknown): Promise<CallToolResult> {
  try {
    return result(await work());
  } catch (error) {
    if (error instanceof InvalidMessageError && error.reason.startsWith('invalid_')) throw new Error(`${error.reason.slice('invalid_'.length)}: ${error.message}`, { cause: error });
    throw error;
  }
}

function field<T>(key: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new Error(`${key}: ${(error as Error).message}`, { cause: error });
  }
}

/** An envelope as the model sees it: what matters to answer it. */
function shown(e: Envelope): Record<string, unknown> {
  return {
    id: e.id,
    from: e.from,
    to: e.to,
    type: e.type,
    ts: e.ts,
    body: e.body,
    ...(e.thread !== undefined ? { thread: e.thread } : {}),
    ...(e.reply_to !== undefined ? { reply_to: e.reply_to } : {}),
  };
}

function change(c: TaskChange): Record<string, unknown> {
  return { task: c.task, previous: c.previous, changed: c.changed };
}

const drop = <T extends Record<string, unknown>>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/** Registers every bus tool on the server. The descriptions are written for the model that reads them. */
export function registerBusTools(server: McpServer, ctx: ToolContext): void {
  const { layout, agent, inbox } = ctx;
  const statusOptions = { panes: false, ...(ctx.tmuxSocket ? { tmuxSocket: ctx.tmuxSocket } : {}) };

  server.registerTool(
    'send_message',
    {
      title: 'Send a bus message',
      description:
        `Send a message on the bmad-bus as ${agent}. It is accepted once it is in the bus journal and is then delivered to the recipients. ` +
        'Returns the message id (use it as reply_to in answers). ' +
        '`to` is an agent name (e.g. dev-1), `orchestrator`, `*` (every agent but you), `role:R` (one agent of role R), `group:G` (every member of group G) or `leader:G` (the leader of group G).',
      inputSchema: z.strictObject({
        to: z.string().describe('who the message is for: an agent name, orchestrator, *, role:R, group:G or leader:G'),
        body: z.union([z.string(), z.record(z.string(), z.unknown())]).describe('the message: text, or a JSON object'),
        type: z.string().optional().describe('message type: message (default), text, task, result, event, knowledge...'),
        thread: z.string().optional().describe('a thread id, to keep a conversation together'),
        reply_to: z.string().optional().describe('the id of the message this answers'),
      }),
      annotations: { openWorldHint: false },
    },
    (args) =>
      run(async () => {
        const address = field('to', () => parseAddress(args.to));
        const [envelope] = await send(layout, drop({ from: agent, to: args.to, body: args.body, type: args.type, thread: args.thread, reply_to: args.reply_to }));
        const registry = readRegistry(layout);
        const unknown = address.kind === 'agent' && address.name !== ORCHESTRATOR && !registry.agents[address.name];
        return {
          id: envelope!.id,
          ts: envelope!.ts,
          to: envelope!.to,
          ...(unknown ? { warning: `no agent named ${address.name} is registered (see list_agents): the router holds the message for a while in case it registers, then dead-letters it` } : {}),
        };
      }),
  );

  server.registerTool(
    'read_inbox',
    {
      title: 'Read your bus messages',
      description:
        `Read ${agent}'s messages from the bus, oldest first, from your read position. ` +
        'A message stays in your inbox until you acknowledge it: call `ack` with its ids once you have dealt with it, or pass ack: true to acknowledge what this call returns. ' +
        'Unacknowledged messages come again on the next read (also after a restart), so nothing is lost. ' +
        `wait_seconds (0-${WAIT_MAX_SECONDS}) waits for a message when there is none. \`more: true\` means more are waiting.`,
      inputSchema: z.strictObject({
        max: z.number().int().min(1).max(READ_MAX).optional().describe(`at most this many messages (default ${READ_DEFAULT})`),
        wait_seconds: z.number().min(0).max(WAIT_MAX_SECONDS).optional().describe('when the inbox is empty, wait this long for a message (default 0)'),
        ack: z.boolean().optional().describe('acknowledge the returned messages at once (default false)'),
      }),
      annotations: { openWorldHint: false },
    },
    (args) =>
      run(async () => {
        const read = await inbox.read({ max: args.max ?? READ_DEFAULT, waitMs: (args.wait_seconds ?? 0) * 1000, ack: args.ack ?? false, maxChars: READ_MAX_CHARS });
        return { messages: read.messages.map(shown), more: read.more, acknowledged: read.acknowledged };
      }),
  );

  server.registerTool(
    'ack',
    {
      title: 'Acknowledge bus messages',
      description: 'Acknowledge messages read with read_inbox, by id, once you have dealt with them: they will not be returned again. Ids that are not among your unacknowledged messages (acknowledged before, or unknown) are listed as `unknown`; that is harmless.',
      inputSchema: z.strictObject({ ids: z.array(z.string()).min(1).max(1000).describe('the ids of the messages to acknowledge') }),
      annotations: { idempotentHint: true, openWorldHint: false },
    },
    (args) => run(() => inbox.ack(args.ids)),
  );

  server.registerTool(
    'list_agents',
    {
      title: 'List the agents on the bus',
      description:
        'Every agent registered on the bus: name, role, how it gets messages (deliver), its state (starting, idle, busy, waiting_input, rate_limited, compacting, dead, failed; missing when unknown) and its undelivered messages.',
      inputSchema: z.strictObject({}),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () => run(async () => ({ you: agent, agents: await listAgents(layout, agent, ctx.tmuxSocket) })),
  );

  server.registerTool(
    'bus_status',
    {
      title: 'Bus status',
      description: 'The state of the bus: whether its router runs (messages are accepted either way), its counters, how many agents there are, your unacknowledged messages and the task queue by status.',
      inputSchema: z.strictObject({}),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () =>
      run(async () => {
        const report = await collectStatus(layout, statusOptions);
        const tasks: Record<string, number> = {};
        for (const task of listTasks(layout)) tasks[task.status] = (tasks[task.status] ?? 0) + 1;
        const unread = await inbox.pending(READ_MAX).catch(() => undefined);
        return {
          root: report.root,
          you: agent,
          registered: report.agents.some((a) => a.name === agent),
          router: report.router,
          agents: report.agents.length,
          ...(unread ? { unread: unread.more ? `${unread.messages.length}+` : unread.messages.length } : {}),
          tasks,
        };
      }),
  );

  server.registerTool(
    'task_list',
    {
      title: 'List tasks',
      description: 'The task queue: each task with its id, title, priority, status, readiness (ready, or what it waits on), assignee. Filter by status: pending, assigned, done, failed, cancelled, ready (pending with its dependencies done) or mine (assigned to you).',
      inputSchema: z.strictObject({
        status: z.enum(['pending', 'assigned', 'done', 'failed', 'cancelled', 'ready', 'blocker', 'mine']).optional().describe('only tasks with this status'),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      run(() => {
        const tasks = args.status === 'mine' ? listTasks(layout, { status: 'assigned' }).filter((t) => t.assignee === agent) : listTasks(layout, args.status ? { status: args.status } : {});
        return {
          tasks: tasks.map((t) => drop({ id: t.id, title: t.title, body: t.body, priority: t.priority, status: t.status, ready: t.ready, waiting_on: t.waitingOn.length ? t.waitingOn : undefined, role: t.role, to: t.to, project: t.project, assignee: t.assignee, result: t.result, reason: t.reason })),
        };
      }),
  );

  server.registerTool(
    'task_add',
    {
      title: 'Add a task',
      description: 'Add a task to the queue; the scheduler gives it to a free agent (of `role`, or exactly `to`) once every task in `after` is done. Returns the task with its id.',
      inputSchema: z.strictObject({
        title: z.string().min(1).describe('one line: what is to be done'),
        body: z.string().optional().describe('details'),
        priority: z.enum(PRIORITIES as unknown as [string, ...string[]]).optional().describe('critical, high, normal (default) or low'),
        role: name.optional().describe('only an agent of this role may take it'),
        to: name.optional().describe('only this agent may take it'),
        after: z.array(taskId).optional().describe('ids of tasks that must be done first'),
        project: name.optional().describe('the project it belongs to'),
      }),
      annotations: { openWorldHint: false },
    },
    (args) => run(async () => ({ task: await addTask(layout, drop({ ...args })) })),
  );

  server.registerTool(
    'task_claim',
    {
      title: 'Claim a task',
      description: 'Take a task yourself: the one with this id, or (without id) the first ready task in queue order that is for you (your name, your role, your project). It becomes assigned to you. Report with task_done or task_fail.',
      inputSchema: z.strictObject({ id: taskId.optional().describe('the task to take (default: the next ready one for you)') }),
      annotations: { openWorldHint: false },
    },
    (args) =>
      run(async () => {
        const me = readRegistry(layout).agents[agent];
        const claimer = drop({ name: agent, role: me?.role, project: me?.project });
        const claimed = await claimTask(layout, claimer, args.id);
        return claimed ? change(claimed) : { task: null, note: 'no ready task is for you now' };
      }),
  );

  server.registerTool(
    'task_done',
    {
      title: 'Report a task done',
      description: 'Mark a task done, with a short result. Tasks that waited on it become ready.',
      inputSchema: z.strictObject({ id: taskId.describe('the task id, e.g. t3'), result: z.string().optional().describe('what came of it') }),
      annotations: { idempotentHint: true, openWorldHint: false },
    },
    (args) => run(async () => change(await completeTask(layout, args.id, drop({ result: args.result })))),
  );

  server.registerTool(
    'task_fail',
    {
      title: 'Report a task failed',
      description: 'Mark a task failed, with the reason. Tasks that wait on it stay blocked until it is retried or cancelled.',
      inputSchema: z.strictObject({ id: taskId.describe('the task id, e.g. t3'), reason: z.string().optional().describe('why it failed') }),
      annotations: { openWorldHint: false },
    },
    (args) => run(async () => change(await failTask(layout, args.id, drop({ reason: args.reason })))),
  );

  server.registerTool(
    'share_knowledge',
    {
      title: 'Share knowledge with the team',
      description: 'Record something you learnt that others should know (a pattern, a pitfall, a decision). It is kept for search_knowledge and sent as a knowledge message to the agents of every team session whose tags match, and with `project`, of that project.',
      inputSchema: z.strictObject({
        text: z.string().min(1).describe('what you learnt, self-contained'),
        tags: z.array(z.string()).optional().describe('topics, e.g. ["webrtc", "network"]'),
        project: name.optional().describe('the project it is about'),
      }),
      annotations: { openWorldHint: false },
    },
    (args) =>
      run(async () => {
        const outcome = await shareWithTeam(layout, drop({ text: args.text, tags: args.tags, project: args.project, from: agent }));
        return { id: outcome.record.id, tags: outcome.record.tags, recipients: outcome.recipients };
      }),
  );

  server.registerTool(
    'search_knowledge',
    {
      title: 'Search shared knowledge',
      description: 'Knowledge the team shared, newest first: records whose text, tags or sharer hold every word of `query`, optionally with a tag and of a project.',
      inputSchema: z.strictObject({
        query: z.string().optional().describe('words that must all appear'),
        tag: z.string().optional().describe('only records with this tag'),
        project: name.optional().describe('only records of this project (and those of none)'),
        max: z.number().int().min(1).max(200).optional().describe('at most this many (default 20)'),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      run(() => {
        const records = listKnowledge(layout, drop({ text: args.query, tag: args.tag, project: args.project }));
        const max = args.max ?? 20;
        return { records: records.reverse().slice(0, max), more: records.length > max };
      }),
  );
}

/** The agents as `list_agents` and `bus://agents` show them. */
export async function listAgents(layout: Layout, agent: string, tmuxSocket?: string): Promise<Array<Record<string, unknown>>> {
  const report = await collectStatus(layout, { panes: false, ...(tmuxSocket ? { tmuxSocket } : {}) });
  return report.agents.map((a) => drop({ name: a.name, role: a.role, state: a.state, status: a.status, deliver: a.deliver, profile: a.profile, undelivered: a.undelivered, you: a.name === agent ? true : undefined }));
}
