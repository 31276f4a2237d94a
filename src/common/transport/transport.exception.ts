import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum TransportErrorCode {
  /** No process with the role is reachable: none subscribed, or no transport to reach one. */
  RoleUnavailable = 'ROLE_UNAVAILABLE',
  /** A process with the role is subscribed but did not answer in time. */
  RoleTimeout = 'ROLE_TIMEOUT',
  /** The broker connection failed or the answer could not be read. */
  RoleTransportFailed = 'ROLE_TRANSPORT_FAILED',
}

const STATUS: Record<TransportErrorCode, HttpStatus> = {
  [TransportErrorCode.RoleUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [TransportErrorCode.RoleTimeout]: HttpStatus.GATEWAY_TIMEOUT,
  [TransportErrorCode.RoleTransportFailed]: HttpStatus.BAD_GATEWAY,
};

export class TransportException extends AppException {
  constructor(code: TransportErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, STATUS[code], message, details);
  }
}
