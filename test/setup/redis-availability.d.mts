import type { ChildProcess } from 'node:child_process';

export declare const DEFAULT_REDIS: { host: string; port: number };
export declare const REDIS_SUITES: string[];
export declare function redisAnswers(host: string, port: number): Promise<boolean>;
export declare function hasRedisServerBinary(): boolean;
export declare function startThrowawayRedis(): Promise<{ url: string; child: ChildProcess }>;
