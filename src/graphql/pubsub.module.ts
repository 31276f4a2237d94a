import { Module } from '@nestjs/common';
import { PubSubService } from 'src/graphql/pubsub.service';

/** Import where live events are published or subscribed; one instance per process. */
@Module({
  providers: [PubSubService],
  exports: [PubSubService],
})
export class PubSubModule {}
