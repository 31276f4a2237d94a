import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';
import { ErrorBody, toErrorBody } from 'src/common/errors/error-body';

/**
 * Turns a handler's failure into the public error shape, so that the caller's `RoleClient`
 * can rethrow the same `code` (an `AppException` thrown by the scheduler reaches the API's
 * client unchanged). Unknown errors become INTERNAL_ERROR without internals, as on HTTP.
 */
@Catch()
export class RoleRpcExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('RoleHandlers');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const body: ErrorBody = toErrorBody(exception);
    if (body.statusCode >= 500) {
      const pattern: unknown = host.switchToRpc().getContext<{ getArgs?: () => unknown[] }>()?.getArgs?.()[0];
      this.logger.error(
        `${typeof pattern === 'string' ? pattern : 'role handler'}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
      );
    }
    return throwError(() => body);
  }
}
