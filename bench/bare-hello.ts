/**
 * The baseline: NestJS on Fastify with one hello route and nothing else.
 *   node -r @swc-node/register bench/bare-hello.ts <port>
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';

@Controller()
class HelloController {
  @Get('hello')
  hello(): { hello: string } {
    return { hello: 'world' };
  }
}

@Module({ controllers: [HelloController] })
class HelloModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(HelloModule, new FastifyAdapter(), { logger: false });
  await app.listen({ port: Number(process.argv[2] ?? 3990), host: '127.0.0.1' });
  process.send?.('ready');
}

void main();
