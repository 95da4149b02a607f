import { UsageError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { show } from '../bus/names.js';
import { readRegistry } from '../bus/registry.js';
import { send } from '../client/send.js';
import { planAssignments, STRATEGIES, type AgentStatus, type Deferral, type SchedulableAgent, type ScheduleLimits, type SchedulingStrategy } from './schedule-plan.js';
import type { Task } from './task-model.js';
import type { Topology } from './topology-types.js';
import { updateTasks } from './tasks.js';

export { planAssignments, STRATEGIES, DEFAULT_LOAD_WINDOW_MS } from './schedule-plan.js';
export type { AgentStatus, Assignment, Deferral, Plan, PlanOptions, SchedulableAgent, ScheduleLimits, SchedulingStrategy } from './schedule-plan.js';

export interface RunSchedulerOptions extends ScheduleLimits {
  strategy?: SchedulingStrategy;
  /** The agents to plan for; default: every agent in the registry, with `statusOf`. */
  agents?: SchedulableAgent[];
  /** The supervisor's view of an agent (dead, failed...); default: every registered agent is alive. */
  statusOf?: (name: string) => AgentStatus | undefined;
  /** Sender of the `task` messages. Default `scheduler`. */
  from?: string;
  loadWindowMs?: number;
  now?: number;
}

export interface MadeAssignment {
  task: Task;
  agent: string;
  /** Id of the `task` message that told the agent. */
  message: string;
}

export interface ScheduleOutcome {
  assignments: MadeAssignment[];
  deferred: Deferral[];
}

/** The body of a `task` message: what an agent needs to start, and the id to report back with. */
export interface TaskMessageBody {
  task: string;
  title: string;
  body: string | null;
  priority: string;
  project: string | null;
}

export function parseStrategy(text: unknown): SchedulingStrategy {
  if (typeof text === 'string' && (STRATEGIES as readonly string[]).includes(text)) return text as SchedulingStrategy;
  throw new UsageError(`Expected strategy round_robin or least_loaded, got ${show(text)}`);
}

/**
 * Runs one scheduling pass: plans under the tasks lock, sends each
 * assignment as a `task` message to its agent, and records it. The lock is
 * held across the sends so that two schedulers never hand out one task twice;
 * a send is a few milliseconds (it never waits for the agent). A task whose
 * message could not be sent stays pending, and the error is thrown after the
 * successful assignments are recorded.
 *
 * @example
 * const { assignments } = await runSchedulerOnce(layout, { strategy: 'least_loaded', maxSessions: 10 });
 */
export async function runSchedulerOnce(layout: Layout, options: RunSchedulerOptions = {}): Promise<ScheduleOutcome> {
  const agents = options.agents ?? registeredAgents(layout, options.statusOf);
  let failure: unknown;
  const outcome = await updateTasks(layout, async (file) => {
    const now = options.now ?? Date.now();
    const plan = planAssignments(file.tasks, agents, { ...options, rotation: file.rotation, now });
    if (plan.assignments.length === 0) return { result: { assignments: [], deferred: plan.deferred } };
    const tasks = file.tasks.slice();
    const made: MadeAssignment[] = [];
    const rotation = { ...file.rotation };
    for (const { task: id, agent } of plan.assignments) {
      const index = tasks.findIndex((t) => t.id === id);
      const task = tasks[index]!;
      let message: string;
      try {
        const [envelope] = await send(layout, { from: options.from ?? 'scheduler', to: agent, type: 'task', body: messageBody(task) });
        message = envelope!.id;
      } catch (error) {
        failure = error;
        break;
      }
      const assigned: Task = { ...task, status: 'assigned', assignee: agent, assigned: new Date(now).toISOString(), attempts: task.attempts + 1, message };
      tasks[index] = assigned;
      if (!task.to) rotation[task.role ?? '*'] = agent;
      made.push({ task: assigned, agent, message });
    }
    return { value: { ...file, tasks, rotation }, result: { assignments: made, deferred: plan.deferred } };
  });
  if (failure) throw failure;
  return outcome;
}

/** The topology's `scheduling.strategy` and `session_limits` (alias `max_sessions`: max_total, max_per_project) as scheduler options. */
export function scheduleOptionsFromTopology(topology: Pick<Topology, 'scheduling' | 'resource_management'>): RunSchedulerOptions {
  const { max_total: total, max_per_project: perProject } = topology.resource_management.session_limits;
  return {
    strategy: topology.scheduling.strategy,
    ...(total !== undefined ? { maxSessions: total } : {}),
    ...(perProject !== undefined ? { maxSessionsPerProject: perProject } : {}),
  };
}

export function messageBody(task: Task): TaskMessageBody {
  return { task: task.id, title: task.title, body: task.body ?? null, priority: task.priority, project: task.project ?? null };
}

function registeredAgents(layout: Layout, statusOf: RunSchedulerOptions['statusOf']): SchedulableAgent[] {
  return Object.values(readRegistry(layout).agents).map((a) => {
    const status = statusOf?.(a.name);
    return {
      name: a.name,
      ...(a.role !== undefined ? { role: a.role } : {}),
      ...(a.project !== undefined ? { project: a.project } : {}),
      ...(a.priority !== undefined ? { priority: a.priority } : {}),
      ...(status !== undefined ? { status } : {}),
    };
  });
}
