/** Payload of `JobName.MaintenanceRun`: the scheduled pass needs no input. */
export type MaintenanceRunJob = Record<string, never>;

/** The job scheduler id: one schedule per deployment, whatever the number of replicas. */
export const MAINTENANCE_SCHEDULE_ID = 'maintenance-run';
