import { Controller, Get, Optional } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { GracefulHealthIndicator } from 'nestjs-graceful';

/** Point the readiness probe at /health/ready, the liveness probe at /health/live and the startup probe at /health/started. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    // Optional only so that SAMPLE_MODE=plain can run this app without the module.
    @Optional() private readonly graceful?: GracefulHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check(this.graceful ? [() => this.graceful!.isReady()] : []);
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check(this.graceful ? [() => this.graceful!.isAlive()] : []);
  }

  /** Up once the startup has ended (listen() and every warm-up), never down after. */
  @Get('started')
  @HealthCheck()
  started() {
    return this.health.check(this.graceful ? [() => this.graceful!.isStarted()] : []);
  }
}
