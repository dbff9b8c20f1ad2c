import { Module } from '@nestjs/common';
import { MetricsService } from './metrics.service.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

@Module({ controllers: [OrdersController], providers: [OrdersService, MetricsService] })
export class OrdersModule {}
