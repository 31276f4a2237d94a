import { z } from 'zod';

/**
 * The request bodies of the OpenAI API as we accept them. Fields that change what a model
 * returns and that we cannot honour (n > 1, logprobs, audio output…) are refused with a clear
 * message; a few that only tune or tag a request (`user`, penalties, `parallel_tool_calls`)
 * are accepted and ignored, as vLLM and Ollama's own OpenAI layer do. Anything else unknown
 * is an error, so a typo never silently changes behaviour.
 */

const MODEL = z.string().trim().min(1, 'model is required').max(128);

/** Only inline images: a URL here would make the router fetch what the caller points at (SSRF). */
const DATA_URL = /^data:image\/(png|jpeg|jpg|gif|webp);base64,([A-Za-z0-9+/=]+)$/;

const textPart = z.object({ type: z.literal('text'), text: z.string() }).strict();
const imagePart = z
  .object({
    type: z.literal('image_url'),
    image_url: z
      .object({
        url: z.string().regex(DATA_URL, 'image_url.url must be a base64 data URL (data:image/png;base64,…); remote URLs are not fetched'),
        detail: z.enum(['auto', 'low', 'high']).optional(),
      })
      .strict(),
  })
  .strict();

const toolCall = z
  .object({
    id: z.string().max(256),
    type: z.literal('function'),
    function: z.object({ name: z.string().min(1).max(128), arguments: z.string() }).strict(),
  })
  .strict();

const content = z.union([z.string(), z.array(z.union([textPart, imagePart])).max(64)]);

const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content, name: z.string().max(128).optional() }).strict(),
  z.object({ role: z.literal('user'), content, name: z.string().max(128).optional() }).strict(),
  z
    .object({
      role: z.literal('assistant'),
      content: content.nullable().optional(),
      name: z.string().max(128).optional(),
      tool_calls: z.array(toolCall).max(128).optional(),
      refusal: z.string().nullable().optional(),
    })
    .strict(),
  z.object({ role: z.literal('tool'), content, tool_call_id: z.string().min(1).max(256) }).strict(),
]);

const tool = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, _ or -'),
        description: z.string().max(4096).optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      })
      .strict(),
  })
  .strict();

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }).strict(),
  z.object({ type: z.literal('json_object') }).strict(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z
        .object({
          name: z.string().max(64),
          description: z.string().optional(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullable().optional(),
        })
        .strict(),
    })
    .strict(),
]);

const IGNORED = {
  user: z.string().max(256).optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  parallel_tool_calls: z.boolean().optional(),
  store: z.boolean().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
};

export const chatCompletionSchema = z
  .object({
    model: MODEL,
    messages: z.array(message).min(1, 'messages must not be empty'),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().gt(0).max(1).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    n: z.literal(1, { error: 'only n = 1 is supported' }).nullable().optional(),
    stop: z
      .union([z.string().min(1), z.array(z.string().min(1)).max(4)])
      .nullable()
      .optional(),
    tools: z.array(tool).max(128).optional(),
    tool_choice: z.enum(['auto', 'none']).optional(),
    response_format: responseFormat.optional(),
    ...IGNORED,
  })
  .strict();

export type ChatCompletionBody = z.infer<typeof chatCompletionSchema>;
export type ChatCompletionMessage = z.infer<typeof message>;

export const embeddingsSchema = z
  .object({
    model: MODEL,
    input: z.union([
      z.string().min(1, 'input must not be empty'),
      z.array(z.string().min(1, 'input strings must not be empty')).min(1, 'input must not be empty').max(2048),
    ]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    user: z.string().max(256).optional(),
  })
  .strict();

export type EmbeddingsBody = z.infer<typeof embeddingsSchema>;
