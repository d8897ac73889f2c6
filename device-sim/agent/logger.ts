// The few log calls the agent makes, shaped like pino's so a pino logger can be passed in.
// device-sim does not import the orchestrator's logger (it shares only protocol/).
// Never log a secret key or a connect token.

export interface AgentLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

const noop = (): void => undefined;
export const silentAgentLogger: AgentLogger = { debug: noop, info: noop, warn: noop, error: noop };
