// The broker's error family: a stable `code` per failure, tests assert codes. Configuration
// errors list every bad value at once; refusals carry their reason and CONNACK code.
import type { ConnackCode, RefusalReason } from './refusals.js';

/** Bad configuration at start: `issues` names each bad variable or file field. */
export class BrokerConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid broker configuration:\n  - ${issues.join('\n  - ')}`);
    this.name = 'BrokerConfigError';
    this.issues = issues;
  }
}

/**
 * A refusal raised inside an Aedes hook. `returnCode` is what Aedes puts in the CONNACK
 * when the refusal happens in `authenticate`; for publishes it only closes the connection.
 */
export class RefusalError extends Error {
  readonly code = 'ERR_REFUSED';
  readonly reason: RefusalReason;
  readonly returnCode: ConnackCode | undefined;
  constructor(reason: RefusalReason, returnCode?: ConnackCode) {
    super(`refused: ${reason}`);
    this.name = 'RefusalError';
    this.reason = reason;
    this.returnCode = returnCode;
  }
}
