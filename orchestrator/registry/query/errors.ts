// A device query that does not parse or names what does not exist (runtime/errors.ts family).
// `position` is the 0-based offset in the query text where the problem starts: the HTTP reply
// carries it (422 `invalid_query` with `position`), so a client can point at it.
import { FleetError } from '../../../runtime/errors.js';

export class QueryError extends FleetError<'invalid_query'> {
  constructor(readonly position: number, message: string) {
    super('invalid_query', `${message} (at position ${position})`);
  }
}
