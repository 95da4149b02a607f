import { auditBusRoot } from '../bus/permissions.js';
import type { Failure } from './failures.js';
import type { SupervisorContext } from './supervisor-context.js';

/**
 * The permission_denied part: each pass it audits the bus root
 * (bus/permissions.ts) and hands every finding to the error table, once
 * while it lasts (again only after it went away and came back): a repaired
 * mode does not come back, a refused file is told once, a finding only
 * reported (`permission_denied: report`) is not told every pass.
 */
export class SupervisorPermissions {
  private readonly ctx: SupervisorContext;
  private readonly onFailure: (failure: Failure) => Promise<void>;
  private told = new Set<string>();

  constructor(ctx: SupervisorContext, onFailure: (failure: Failure) => Promise<void>) {
    this.ctx = ctx;
    this.onFailure = onFailure;
  }

  async check(): Promise<void> {
    const now = new Set<string>();
    for (const finding of auditBusRoot(this.ctx.layout)) {
      const key = `${finding.path}\0${finding.kind === 'refuse' ? finding.reason : finding.was}`;
      now.add(key);
      if (this.told.has(key)) continue;
      await this.onFailure({ kind: 'permission_denied', finding });
    }
    this.told = now;
  }
}
