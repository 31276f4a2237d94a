import { Module } from '@nestjs/common';
import { SystemController } from 'src/modules/system/system.controller';
import { SystemService } from 'src/modules/system/system.service';

/** Admin view of the deployment (api role); talks to other roles only through RoleClient. */
@Module({
  controllers: [SystemController],
  providers: [SystemService],
})
export class SystemModule {}
