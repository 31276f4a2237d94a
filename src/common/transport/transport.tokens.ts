import { ClientProxy, ClientRedis } from '@nestjs/microservices';

/** The app's version, injectable (read once from package.json). */
export class AppVersion {
  constructor(readonly value: string) {}
}

/** The NATS or Redis client for roles that run elsewhere; null with the in-process transport. */
export const REMOTE_ROLE_CLIENT = Symbol('REMOTE_ROLE_CLIENT');
// ClientRedis is listed because its typed events make it no plain ClientProxy to TypeScript.
export type RemoteRoleClient = ClientProxy | ClientRedis | null;
