import { drawIntake } from '../db/intake-buckets.js';
import type { Operator } from '../db/operators.js';
import type { Queryable } from '../db/pool.js';
import { errors } from '../errors.js';

/**
 * Admits `events` new events of the operator under its intake limit, if it has one, before anything is
 * recorded: one shared bucket in PostgreSQL, so the limit holds across API processes. Over it: a 429
 * with `Retry-After`, nothing recorded; a batch larger than the burst could never pass: a 422 that says so.
 * An operator without a limit costs nothing (no round trip).
 */
export async function admitIntake(db: Queryable, operator: Operator, events: number): Promise<void> {
  const limit = operator.intakeLimit;
  if (!limit || events <= 0) return;
  if (events > limit.burst) throw errors.overBurst(events, limit.burst);
  const drawn = await drawIntake(db, operator.id, events, limit);
  if (!drawn.admitted) throw errors.intakeLimited(limit, drawn.retryAfterSeconds);
}
