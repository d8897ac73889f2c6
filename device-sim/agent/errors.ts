// The agent's own failures (I/O and caller bugs), each with a stable code. Hostile input from
// the network never throws: it becomes a docs/protocol.md reason code in a status report.

export type AgentErrorCode =
  | 'ERR_STATE_CORRUPT' // a persisted device record does not parse or validate
  | 'ERR_STATE_MISSING' // no persisted record for the device
  | 'ERR_STORE' // the store could not write
  | 'ERR_NOT_CONNECTED' // a publish while the transport is down
  | 'ERR_ACK_TIMEOUT' // no PUBACK in time
  | 'ERR_CONNECTION_LOST' // the connection dropped before the PUBACK
  | 'ERR_INSTALL' // writing the inactive slot failed
  | 'ERR_STAGING' // the staged download no longer matches what was verified
  | 'ERR_PROVISION' // bad provisioning input (trust anchor, ids)
  | 'ERR_NO_ROOT' // the orchestrator serves no root yet (the simulator's trust anchor)
  | 'ERR_ROOT_CHAIN' // the served root chain does not verify
  | 'ERR_STOPPED'; // the agent was stopped

export class AgentError extends Error {
  readonly code: AgentErrorCode;
  constructor(code: AgentErrorCode, message: string) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
  }
}

export function isAgentError(error: unknown, code?: AgentErrorCode): error is AgentError {
  return error instanceof AgentError && (code === undefined || error.code === code);
}
