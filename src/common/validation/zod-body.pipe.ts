import { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { CommonErrors } from 'src/common/errors/app.exception';

/**
 * Validates a body against a zod schema, for wire formats we do not own (the OpenAI API)
 * where class-validator DTOs would be a second copy of someone else's spec. The first
 * problem is the message; `details.param` names where it is (`messages[2].content`) and
 * `details.errors` lists them all.
 */
export class ZodBodyPipe<Schema extends z.ZodType> implements PipeTransform<unknown, z.output<Schema>> {
  constructor(private readonly schema: Schema) {}

  transform(value: unknown): z.output<Schema> {
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    const errors = result.error.issues.slice(0, 20).map((issue) => {
      const param = formatPath(issue.path);
      return param ? `${param}: ${issue.message}` : issue.message;
    });
    const param = formatPath(result.error.issues[0]?.path ?? []);
    throw CommonErrors.validation(errors[0] ?? 'Invalid request body', { ...(param && { param }), errors });
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
    '',
  );
}
