import { readRegistry } from '../bus/registry.js';
import { runSchedulerOnce, scheduleOptionsFromTopology, type AgentStatus } from './scheduler.js';
import type { SupervisorContext } from './supervisor-context.js';
import type { AgentHealth } from './supervisor-types.js';

/** One scheduler run per pass: ready tasks go to agents the supervisor sees as able to take them. */
export async function schedulePass(ctx: SupervisorContext): Promise<void> {
  const registry = readRegistry(ctx.layout);
  const outcome = await runSchedulerOnce(ctx.layout, {
    ...scheduleOptionsFromTopology(ctx.options.topology),
    statusOf: (name) => schedulerStatus(registry.agents[name]?.status),
  });
  for (const made of outcome.assignments) ctx.options.log(`assigned ${made.task.id} to ${made.agent}`);
}

/** The registry status as the scheduler sees it: restarting agents take no task until they are back. */
export function schedulerStatus(status: AgentHealth | undefined): AgentStatus | undefined {
  switch (status) {
    case 'failed':
    case 'stopped':
      return 'failed';
    case 'dead':
    case 'restarting':
      return 'dead';
    case 'idle':
      return 'idle';
    case 'running':
    case undefined:
      return 'alive';
  }
}
