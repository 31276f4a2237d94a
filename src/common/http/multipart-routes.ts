import multipart from '@fastify/multipart';
import { HttpStatus } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppException, CommonErrorCode } from 'src/common/errors/app.exception';

/** `@RouteConfig(MULTIPART_ROUTE)`: the route reads a multipart/form-data body itself (`request.file()`). */
export const MULTIPART_ROUTE = { multipart: true } as const;

/**
 * Lets the routes marked MULTIPART_ROUTE stream uploads. Every other route keeps refusing
 * multipart bodies with 415, as it did before the parser existed; JSON routes keep their
 * BODY_LIMIT_BYTES. Upload routes set their own file size limit per call, since multipart
 * bodies are streamed rather than buffered under the body limit.
 */
export async function registerMultipart(app: NestFastifyApplication): Promise<void> {
  await app.register(multipart, { limits: { files: 1, fields: 10, fieldSize: 1024, parts: 11 } });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('preValidation', (request, _reply, done) => {
      if (request.isMultipart() && (request.routeOptions.config as { multipart?: boolean }).multipart !== true) {
        done(new AppException(CommonErrorCode.UnsupportedMediaType, HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'Unsupported Content-Type'));
        return;
      }
      done();
    });
}
