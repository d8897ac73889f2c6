// The servers' one error family (STYLE.md 3, like jose's JOSEError): every error the
// orchestrator, broker, state and launcher throw on purpose is a FleetError with a stable `code`.
// Each area subclasses it with its own code union (RolloutError, RegistryError, ConfigError ...);
// callers and tests match `code`, never the message or the class name.
//
// Code style: snake_case, the style of the HTTP API's `{ code, message }` bodies, which API
// clients already match (docs/design.md#errors). The HTTP status of a code is decided in one
// table (orchestrator/http/errors.ts), never by the code that throws. protocol/ keeps its own
// pure family (ProtocolError with docs/protocol.md reason codes, UsageError for caller bugs):
// devices import it without this module; both share the shape { name, code, message }.

export class FleetError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** True for a FleetError, of `code` when one is given. */
export function isFleetError(error: unknown, code?: string): error is FleetError {
  return error instanceof FleetError && (code === undefined || error.code === code);
}

/**
 * Bad configuration at start (environment or config file): `issues` names every bad variable or
 * field at once, never its value (a token or secret may be the bad one).
 */
export class ConfigError extends FleetError<'invalid_configuration'> {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], subject = 'configuration') {
    super('invalid_configuration', `invalid ${subject}:\n  - ${issues.join('\n  - ')}`);
    this.issues = issues;
  }
}

/** Codes of a process that could not start (the config was valid, what it names was not). */
export type StartupErrorCode =
  /** The orchestrator's engine: no broker URL, no or a wrong director key. */
  | 'orchestrator_setup'
  /** The broker could not reach Redis or bind its ports. */
  | 'broker_start'
  /** The dashboard's built assets are missing (npm run build:dashboard). */
  | 'dashboard_assets';

export class StartupError extends FleetError<StartupErrorCode> {}
