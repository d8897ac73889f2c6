// The device side's own failures (I/O and caller bugs), each with a stable snake_case code, the
// style of the servers' FleetError family (runtime/errors.ts). A family of its own, not a
// FleetError: device-sim/ is the reference device and shares only protocol/ with the servers
// (docs/design.md, Layout), so a port to hardware carries none of the servers' runtime/.
// Hostile input from the network never throws: it becomes a docs/protocol.md reason code.

export type AgentErrorCode =
  | 'state_corrupt' // a persisted device record does not parse or validate
  | 'state_missing' // no persisted record for the device
  | 'store_failed' // the store could not write
  | 'not_connected' // a publish while the transport is down
  | 'ack_timeout' // no PUBACK in time
  | 'connection_lost' // the connection dropped before the PUBACK
  | 'slot_write_failed' // writing the inactive slot failed
  | 'staging_mismatch' // the staged download no longer matches what was verified
  | 'invalid_provisioning' // bad provisioning input (trust anchor, ids)
  | 'no_root' // the orchestrator serves no root yet (the simulator's trust anchor)
  | 'root_chain' // the served root chain does not verify
  | 'stopped' // the agent was stopped
  | 'invalid_profile'; // the simulator: a failure-profile mix that does not parse (sim/profiles.ts)

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
