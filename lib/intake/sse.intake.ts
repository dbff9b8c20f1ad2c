/**
 * `@Sse()` routes, on Express and Fastify. An SSE stream is a response that
 * never ends by itself: left alone it holds the drain until its timeout and
 * is then cut. At the drain every open stream completes instead: Nest ends
 * the response normally (the client sees the end of the stream, not a
 * reset), its connection closes, and an `EventSource` reconnects on its own,
 * to an instance that is ready. Works by an interceptor the module adds to
 * SSE routes only, so other routes pay nothing.
 */
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { ReplaySubject, defer, finalize, takeUntil, type Observable } from 'rxjs';
import type { HttpDrain } from '../drain/http.drain.js';
import { untilAborted } from '../shutdown/abortable-delay.js';
import { WaitList } from '../drain/wait-list.js';
import type { IntakeSource } from './intake.source.js';
import type { IntakeContext, IntakeIntegration } from './intake.context.js';

const SSE_METADATA = '__sse__';
const INTERCEPTORS_METADATA = '__interceptors__';
const REGISTRY = Symbol.for('nestjs-graceful.sse');

type RawResponse = Parameters<HttpDrain['closeAfter']>[0];

/** The SSE drain of one application (one HTTP server). */
class SseIntake implements IntakeSource {
  readonly name = 'SSE streams';
  readonly kind = 'sse' as const;
  readonly unit = 'stream';
  /** Emits once, at the drain, and replays to streams that start later. */
  private readonly draining = new ReplaySubject<void>(1);
  private drainStarted = false;
  private readonly open = new Map<object, RawResponse>();
  private readonly idle = new WaitList();
  private ended = 0;

  constructor(private readonly http: HttpDrain) {}

  watch(response: RawResponse, stream: Observable<unknown>): Observable<unknown> {
    return defer(() => {
      const token = {};
      this.open.set(token, response);
      if (this.drainStarted) this.http.closeAfter(response);
      return stream.pipe(
        takeUntil(this.draining),
        finalize(() => {
          if (!this.open.delete(token)) return;
          if (this.drainStarted) this.ended++;
          if (this.open.size === 0) this.idle.release();
        }),
      );
    });
  }

  async drain(signal: AbortSignal): Promise<void> {
    this.drainStarted = true;
    // Its connection is not kept for another request once the stream has ended.
    for (const response of this.open.values()) this.http.closeAfter(response);
    this.draining.next();
    this.draining.complete();
    if (this.open.size > 0) await untilAborted(this.idle.wait(), signal);
  }

  finished(): number {
    return this.ended;
  }

  running(): number {
    return this.open.size;
  }
}

/** Applications by their HTTP server, shared by every copy of the package (the interceptor is on shared classes). */
const intakes: Map<object, SseIntake> =
  ((globalThis as Record<symbol, unknown>)[REGISTRY] as Map<object, SseIntake> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY] = new Map<object, SseIntake>());

/** One instance for every SSE route of the process: it finds the application of each request by its server. */
class SseDrainInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = rawOf(http.getRequest<object>()) as { socket?: { server?: object }; stream?: { session?: { socket?: { server?: object } } } };
    const response = rawOf(http.getResponse<object>()) as RawResponse;
    const server = request.socket?.server ?? request.stream?.session?.socket?.server;
    const intake = (server && intakes.get(server)) ?? (intakes.size === 1 ? [...intakes.values()][0] : undefined);
    return intake ? intake.watch(response, next.handle()) : next.handle();
  }
}

const INTERCEPTOR_KEY = Symbol.for('nestjs-graceful.sse-interceptor');
const interceptor: SseDrainInterceptor =
  ((globalThis as Record<symbol, unknown>)[INTERCEPTOR_KEY] as SseDrainInterceptor | undefined) ??
  ((globalThis as Record<symbol, unknown>)[INTERCEPTOR_KEY] = new SseDrainInterceptor());

function rawOf(value: object): object {
  return (value as { raw?: object }).raw ?? value;
}

export class SseIntegration implements IntakeIntegration {
  private intake?: SseIntake;
  private server?: object;

  prepare(context: IntakeContext): void {
    let routes = 0;
    for (const { prototype } of context.controllers()) {
      for (const method of methodsOf(prototype)) {
        if (!Reflect.getMetadata(SSE_METADATA, method)) continue;
        routes++;
        const existing = (Reflect.getMetadata(INTERCEPTORS_METADATA, method) as unknown[] | undefined) ?? [];
        if (!existing.includes(interceptor)) Reflect.defineMetadata(INTERCEPTORS_METADATA, [interceptor, ...existing], method);
      }
    }
    if (routes === 0 || !context.http) return;
    this.intake = new SseIntake(context.http);
    this.server = context.http.server;
    intakes.set(this.server, this.intake);
  }

  sources(): IntakeSource[] {
    return this.intake ? [this.intake] : [];
  }

  /** The application has stopped: its server no longer routes here. */
  release(): void {
    if (this.server) intakes.delete(this.server);
  }
}

function methodsOf(prototype: object): Array<(...args: unknown[]) => unknown> {
  const methods = new Set<(...args: unknown[]) => unknown>();
  for (let p: object | null = prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === 'constructor') continue;
      const descriptor = Object.getOwnPropertyDescriptor(p, name);
      if (descriptor && typeof descriptor.value === 'function') methods.add(descriptor.value as (...args: unknown[]) => unknown);
    }
  }
  return [...methods];
}
