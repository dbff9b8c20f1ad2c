import { Module } from '@nestjs/common';
import { AuditLogService } from './audit-log.service.js';

@Module({ providers: [AuditLogService] })
export class AuditModule {}
