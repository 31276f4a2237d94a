import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum RouterErrorCode {
  /** Every slot is busy and the wait queue is full, or the wait timed out. */
  Overloaded = 'ROUTER_OVERLOADED',
  /** No healthy node serves the model. */
  NoNode = 'ROUTER_NO_NODE',
  /** Every attempt before the first token failed. */
  UpstreamFailed = 'ROUTER_UPSTREAM_FAILED',
  /** The node failed after tokens were already sent: the answer is incomplete. */
  StreamInterrupted = 'ROUTER_STREAM_INTERRUPTED',
  /** The upstream refused the request itself (4xx); another node would answer the same. */
  UpstreamRejected = 'ROUTER_UPSTREAM_REJECTED',
  Aborted = 'ROUTER_ABORTED',
}

const STATUS: Record<RouterErrorCode, HttpStatus> = {
  [RouterErrorCode.Overloaded]: HttpStatus.TOO_MANY_REQUESTS,
  [RouterErrorCode.NoNode]: HttpStatus.SERVICE_UNAVAILABLE,
  [RouterErrorCode.UpstreamFailed]: HttpStatus.BAD_GATEWAY,
  [RouterErrorCode.StreamInterrupted]: HttpStatus.BAD_GATEWAY,
  [RouterErrorCode.UpstreamRejected]: HttpStatus.BAD_REQUEST,
  [RouterErrorCode.Aborted]: 499 as HttpStatus,
};

export class RouterException extends AppException {
  constructor(code: RouterErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}

/** Thrown by a stream after its first chunk; the chunks already yielded are a partial answer. */
export class RouterStreamInterruptedError extends RouterException {
  constructor(
    message: string,
    readonly nodeId: string,
    readonly chunksSent: number,
  ) {
    super(RouterErrorCode.StreamInterrupted, message);
  }
}
