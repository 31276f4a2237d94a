import { Controller, Type } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { ProcessInfo } from 'src/common/transport/process-identity';
import { pingPattern, PingResult } from 'src/common/transport/role-messages';
import { AppVersion } from 'src/common/transport/transport.tokens';
import type { GremlinsRole } from 'src/config/roles';

/**
 * One ping handler per role this process runs, so "is anyone serving role X?" has an
 * answer on every transport. Built per role because a pattern is fixed at decoration time.
 */
export function createPingHandler(role: GremlinsRole): Type {
  @Controller()
  class PingHandler {
    constructor(
      private readonly processInfo: ProcessInfo,
      private readonly version: AppVersion,
    ) {}

    @MessagePattern(pingPattern(role))
    ping(): PingResult {
      return { role, version: this.version.value, process: this.processInfo.identity };
    }
  }
  Object.defineProperty(PingHandler, 'name', { value: `${role[0].toUpperCase()}${role.slice(1)}PingHandler` });
  return PingHandler;
}
