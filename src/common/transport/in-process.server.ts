import { BaseRpcContext, CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { Observable } from 'rxjs';

export const IN_PROCESS_TRANSPORT = Symbol('in-process');

export class NoLocalHandlerError extends Error {
  constructor(readonly pattern: string) {
    super(`No handler for ${pattern} is registered in this process`);
  }
}

/**
 * The transport for calls whose role runs in this process. It is connected like NATS or
 * Redis (so handlers pass through the same Nest RPC pipeline: filters, interceptors,
 * processing hooks) but `dispatch` hands the message straight to the handler.
 */
export class InProcessServer extends Server implements CustomTransportStrategy {
  override transportId = IN_PROCESS_TRANSPORT;

  listen(callback: () => void): void {
    callback();
  }

  close(): void {
    this.messageHandlers.clear();
  }

  on(): void {
    // No connection, so no connection events.
  }

  unwrap<T>(): T {
    throw new Error('The in-process transport has no underlying client');
  }

  hasHandler(pattern: string): boolean {
    return this.getHandlerByPattern(pattern) !== null;
  }

  /** Emits the handler's answer, or errors with what the exception filter made of its failure. */
  dispatch(pattern: string, data: unknown): Observable<unknown> {
    return new Observable((observer) => {
      const handler: MessageHandler | null = this.getHandlerByPattern(pattern);
      if (!handler) {
        observer.error(new NoLocalHandlerError(pattern));
        return;
      }
      const context = new BaseRpcContext([pattern]);
      const done = this.handleRequest(
        context,
        async () => this.transformToObservable(await handler(data, context)) as Observable<unknown>,
        (packet) => {
          if (packet.err !== undefined && packet.err !== null) {
            observer.error(packet.err);
          } else if (packet.isDisposed) {
            if (packet.response !== undefined) observer.next(packet.response);
            observer.complete();
          } else {
            observer.next(packet.response);
          }
        },
      ) as unknown;
      // The processing hooks may be async and fail before the handler runs.
      if (done instanceof Promise) done.catch((error: unknown) => observer.error(error));
    });
  }
}
