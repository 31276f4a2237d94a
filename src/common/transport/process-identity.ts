import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { GremlinsRole } from 'src/config/roles';

/** Who answered a cross-role call: enough to tell replicas apart in logs and admin views. */
export interface ProcessIdentity {
  /** Random per process start; survives nothing, which is the point. */
  instanceId: string;
  pid: number;
  hostname: string;
  roles: GremlinsRole[];
  startedAt: string;
}

export class ProcessInfo {
  readonly identity: ProcessIdentity;

  constructor(roles: readonly GremlinsRole[]) {
    this.identity = {
      instanceId: randomUUID(),
      pid: process.pid,
      hostname: hostname(),
      roles: [...roles],
      startedAt: new Date().toISOString(),
    };
  }
}
