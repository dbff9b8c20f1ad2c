import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { WARM_UP_METADATA } from '../graceful.constants.js';
import type { WarmUpOptions } from '../interfaces/warm-up-options.interface.js';

/** Reads what `@WarmUp()` wrote on a method. */
@Injectable()
export class WarmUpAccessor {
  constructor(private readonly reflector: Reflector) {}

  getOptions(method: (...args: never[]) => unknown): WarmUpOptions | undefined {
    return this.reflector.get<WarmUpOptions | undefined>(WARM_UP_METADATA, method);
  }
}
