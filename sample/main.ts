import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';

// PLATFORM=fastify runs the same app on Fastify; SAMPLE_MODE=plain without nestjs-graceful.
const mode = process.env.SAMPLE_MODE === 'plain' ? 'plain' : 'graceful';
const module = AppModule.register(mode);
const app =
  process.env.PLATFORM === 'fastify'
    ? await NestFactory.create(module, new FastifyAdapter(), { logger: ['log', 'warn', 'error'] })
    : await NestFactory.create(module, { logger: ['log', 'warn', 'error'] });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');

const url = (await app.getUrl()).replace('[::1]', 'localhost');
new Logger('Sample').log(
  `Listening on ${url} (${mode}, ${process.env.PLATFORM ?? 'express'}, pid ${process.pid}). ` +
    `Try ${url}/orders and ${url}/health/ready; press Ctrl+C, or run kill -TERM ${process.pid}, to watch the ordered shutdown.`,
);
