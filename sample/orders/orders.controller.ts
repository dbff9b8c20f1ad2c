import { Controller, Get, Param, Post } from '@nestjs/common';
import { OrdersService } from './orders.service.js';

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get()
  list() {
    return this.orders.list();
  }

  @Post(':item')
  create(@Param('item') item: string) {
    this.orders.record(item);
    return { queued: item };
  }
}
