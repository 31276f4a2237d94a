import { Module } from '@nestjs/common';
import { AuthModule } from 'src/modules/auth/auth.module';
import { RealtimeHandshake } from 'src/modules/realtime/realtime-handshake.service';
import { RealtimeGateway } from 'src/modules/realtime/realtime.gateway';
import { RealtimeListener } from 'src/modules/realtime/realtime.listener';
import { RealtimeService } from 'src/modules/realtime/realtime.service';

/** Socket.IO at `/realtime`; other modules push through the exported RealtimeService. */
@Module({
  imports: [AuthModule],
  providers: [RealtimeGateway, RealtimeHandshake, RealtimeService, RealtimeListener],
  exports: [RealtimeService],
})
export class RealtimeModule {}
