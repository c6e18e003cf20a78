import { Injectable, Logger } from '@nestjs/common';

/** What the module reports as it happens. No event ever carries a token. */
export type OidcEvent =
  | { type: 'login'; iss: string; sub: string; sessionId: string }
  | { type: 'logout'; iss: string; sub: string; sessionId: string }
  | { type: 'refresh'; iss: string; sub: string; sessionId: string }
  | { type: 'refresh-failed'; iss: string; sub: string; sessionId: string; code: string; sessionEnded: boolean }
  | { type: 'backchannel-logout'; iss: string; sub?: string; sid?: string; sessionsEnded: number }
  | { type: 'frontchannel-logout'; iss: string; sid: string; sessionsEnded: number };

export type OidcEventType = OidcEvent['type'];
export type OidcEventListener<T extends OidcEventType = OidcEventType> = (event: Extract<OidcEvent, { type: T }>) => void | Promise<void>;

/**
 * Observe logins, logouts, refreshes and OP-initiated logouts. Listeners run after the fact and cannot
 * change the outcome; an exception in a listener is logged, never thrown to the request.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class AuditTrail implements OnModuleInit {
 *   constructor(private readonly events: OidcEvents) {}
 *   onModuleInit() {
 *     this.events.on('login', (e) => this.audit.write('login', e.sub));
 *     this.events.on('backchannel-logout', (e) => this.audit.write('op-logout', e.sub ?? e.sid));
 *   }
 * }
 * ```
 */
@Injectable()
export class OidcEvents {
  private readonly logger = new Logger('OidcEvents');
  private readonly listeners = new Map<OidcEventType | '*', Set<OidcEventListener>>();

  /**
   * Subscribes to one event type, or `'*'` for all; returns a function that unsubscribes.
   *
   * @see README "Events" for the event types
   */
  on<T extends OidcEventType>(type: T | '*', listener: OidcEventListener<T>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as unknown as OidcEventListener);
    return () => set.delete(listener as unknown as OidcEventListener);
  }

  /**
   * Reports an event to its listeners.
   *
   * @internal
   */
  emit(event: OidcEvent): void {
    for (const key of [event.type, '*'] as const) {
      for (const listener of this.listeners.get(key) ?? []) {
        try {
          const result = listener(event as never);
          if (result instanceof Promise) result.catch((err: unknown) => this.report(event, err));
        } catch (err) {
          this.report(event, err);
        }
      }
    }
  }

  private report(event: OidcEvent, err: unknown): void {
    this.logger.error(`A listener of "${event.type}" failed: ${(err as Error)?.message ?? String(err)}`);
  }
}
