import type { ProcessIdentity } from 'src/common/transport/process-identity';

/** Payload of `scheduler.maintenance.run`. */
export interface MaintenanceRunRequest {
  /** User id of the admin who asked, for the scheduler's log; absent for scheduled runs. */
  requestedBy?: string;
}

/** What one maintenance pass removed. Dates are ISO strings: this travels as JSON. */
export interface MaintenanceRunResult {
  deleted: { sessions: number; apiKeys: number; auditEvents: number };
  cutoffs: { credentials: string; auditEvents: string };
  startedAt: string;
  durationMs: number;
  ranBy: ProcessIdentity;
}
