// The broker's errors, in the servers' one family (runtime/errors.ts): configuration errors are
// the shared ConfigError (every bad value at once); refusals carry their reason and CONNACK code.
import { FleetError } from '../runtime/errors.js';
import type { ConnackCode, RefusalReason } from './refusals.js';

/**
 * A refusal raised inside an Aedes hook. `returnCode` is what Aedes puts in the CONNACK
 * when the refusal happens in `authenticate`; for publishes it only closes the connection.
 */
export class RefusalError extends FleetError<'refused'> {
  readonly reason: RefusalReason;
  readonly returnCode: ConnackCode | undefined;
  constructor(reason: RefusalReason, returnCode?: ConnackCode) {
    super('refused', `refused: ${reason}`);
    this.reason = reason;
    this.returnCode = returnCode;
  }
}
