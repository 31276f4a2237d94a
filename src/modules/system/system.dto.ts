import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ALL_ROLES, GremlinsRole } from 'src/config/roles';

export class ProcessIdentityDto {
  @ApiProperty({ format: 'uuid', description: 'Random per process start' }) instanceId: string;
  @ApiProperty() pid: number;
  @ApiProperty() hostname: string;
  @ApiProperty({ enum: ALL_ROLES, isArray: true }) roles: GremlinsRole[];
  @ApiProperty({ format: 'date-time' }) startedAt: string;
}

export class RoleStatusDto {
  @ApiProperty({ enum: ALL_ROLES }) role: GremlinsRole;
  @ApiProperty({ description: 'This process runs the role itself' }) local: boolean;
  @ApiProperty({ description: 'Some process answered system.ping for the role in time' }) reachable: boolean;
  @ApiPropertyOptional({ description: 'Round trip of the ping' }) latencyMs?: number;
  @ApiPropertyOptional({ type: ProcessIdentityDto, description: 'The process that answered' }) answeredBy?: ProcessIdentityDto;
  @ApiPropertyOptional({ description: 'Error code when unreachable (ROLE_UNAVAILABLE, ROLE_TIMEOUT, ...)' }) error?: string;
}

export class SystemStatusDto {
  @ApiProperty() version: string;
  @ApiProperty({ enum: ['in-process', 'nats', 'redis'] }) transport: 'in-process' | 'nats' | 'redis';
  @ApiProperty({ description: 'Subject/channel namespace of the role transport' }) transportNamespace: string;
  @ApiProperty({ enum: ['in-memory', 'bullmq'] }) queue: 'in-memory' | 'bullmq';
  @ApiProperty({ type: ProcessIdentityDto, description: 'The process that served this request' }) process: ProcessIdentityDto;
  @ApiProperty({ type: RoleStatusDto, isArray: true }) roles: RoleStatusDto[];
}

class MaintenanceCountsDto {
  @ApiProperty() sessions: number;
  @ApiProperty() apiKeys: number;
  @ApiProperty() auditEvents: number;
}

class MaintenanceCutoffsDto {
  @ApiProperty({ format: 'date-time', description: 'Sessions and API keys that ended before this were deleted' }) credentials: string;
  @ApiProperty({ format: 'date-time', description: 'Audit events created before this were deleted' }) auditEvents: string;
}

export class MaintenanceRunResultDto {
  @ApiProperty({ type: MaintenanceCountsDto }) deleted: MaintenanceCountsDto;
  @ApiProperty({ type: MaintenanceCutoffsDto }) cutoffs: MaintenanceCutoffsDto;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty() durationMs: number;
  @ApiProperty({ type: ProcessIdentityDto, description: 'The scheduler process that ran it' }) ranBy: ProcessIdentityDto;
}
