import { Global, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AppEvents } from 'src/common/events/app-events';

@Global()
@Module({
  imports: [EventEmitterModule.forRoot({ wildcard: false })],
  providers: [AppEvents],
  exports: [AppEvents],
})
export class EventsModule {}
