import { AuthModule } from 'src/modules/auth/auth.module';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PubSubModule } from 'src/graphql/pubsub.module';
import { AuditEvent } from 'src/modules/audit/audit-event.entity';
import { AuditController } from 'src/modules/audit/audit.controller';
import { AuditRepository } from 'src/modules/audit/audit.repository';
import { AuditResolver } from 'src/modules/audit/audit.resolver';
import { AuditService } from 'src/modules/audit/audit.service';

/** Global: every module records security events through `AuditService`. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent]), PubSubModule, AuthModule],
  controllers: [AuditController],
  providers: [AuditRepository, AuditService, AuditResolver],
  // The repository too, for the scheduler's retention pass (maintenance module).
  exports: [AuditService, AuditRepository],
})
export class AuditModule {}
