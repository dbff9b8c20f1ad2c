import { Global, Module } from '@nestjs/common';
import { DatabaseService } from './database.service.js';

/** Global, as database modules usually are: Nest alone would destroy it last whatever uses it. */
@Global()
@Module({ providers: [DatabaseService], exports: [DatabaseService] })
export class DatabaseModule {}
