import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { recordedOptions } from '../decorators/method-target.js';
import { ON_SHUTDOWN_METADATA } from '../graceful.constants.js';
import type { OnShutdownOptions } from '../interfaces/on-shutdown-options.interface.js';

/** Reads what `@OnShutdown()` wrote on a method. */
@Injectable()
export class ShutdownHookAccessor {
  constructor(private readonly reflector: Reflector) {}

  getOptions(method: (...args: never[]) => unknown): OnShutdownOptions | undefined {
    // What the decorator kept, else the metadata (a method another decorator wrapped and copied it to).
    return recordedOptions<OnShutdownOptions>(method, ON_SHUTDOWN_METADATA) ?? this.reflector.get<OnShutdownOptions | undefined>(ON_SHUTDOWN_METADATA, method);
  }
}
