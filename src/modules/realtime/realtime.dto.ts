import { IsInt, IsOptional, Min } from 'class-validator';
import { PingRequest } from 'src/modules/realtime/realtime-events';

export class PingDto implements PingRequest {
  /** The client's clock (ms since the epoch), echoed back so it can measure round trip and skew. */
  @IsOptional()
  @IsInt()
  @Min(0)
  clientTime?: number;
}
