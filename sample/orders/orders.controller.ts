import { Controller, Get, Param, Post } from '@nestjs/common';
import { OrdersService } from './orders.service.js';

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get()
  list() {
    return this.orders.list();
  }

  /** A bug that escapes every handler: with handleFatalErrors the app shuts down gracefully (exit code 1). */
  @Post('crash')
  crash() {
    setImmediate(() => {
      throw new Error('an uncaught bug');
    });
    return { crashing: true };
  }

  @Post(':item')
  create(@Param('item') item: string) {
    this.orders.record(item);
    return { queued: item };
  }
}
