import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ON_SHUTDOWN_METADATA } from '../graceful.constants.js';
import type { OnShutdownOptions } from '../interfaces/on-shutdown-options.interface.js';

/** Reads what `@OnShutdown()` wrote on a method. */
@Injectable()
export class ShutdownHookAccessor {
  constructor(private readonly reflector: Reflector) {}

  getOptions(method: (...args: never[]) => unknown): OnShutdownOptions | undefined {
    return this.reflector.get<OnShutdownOptions | undefined>(ON_SHUTDOWN_METADATA, method);
  }
}
