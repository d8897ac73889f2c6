// Every size and count limit of the wire contract, named in one place (docs/protocol.md).

export const LIMITS = {
  /** Directive message on `fleet/v1/{id}/directive`. */
  directiveMessageBytes: 64 * 1024,
  /** Status report on `fleet/v1/{id}/status`. */
  statusReportBytes: 4 * 1024,
  /** Signatures carried by one envelope. */
  signaturesPerEnvelope: 16,
  /** Root documents a directive message may carry (bounds the chain walk). */
  rootsPerMessage: 32,
  /** Unicode code points (not UTF-16 units) in a status report's `detail`. */
  statusDetailChars: 256,
  /** Members of a status report's `attributes` (docs/protocol.md#status-report). */
  statusAttributes: 16,
  /** Unicode code points in one string value of a status report's `attributes`. */
  statusAttributeValueChars: 64,
  /** Device ids a release manifest may name in `devices` (owner mode). */
  devicesPerRelease: 256,
  /** Keys a root document may list. */
  keysPerRoot: 64,
  /** Default maximum lifetime of a device connect token, seconds. */
  connectTokenMaxLifetimeSeconds: 24 * 60 * 60,
  /** Clock skew allowed on connect tokens, seconds. */
  connectTokenSkewSeconds: 60,
} as const;

export const MAX_SAFE_WIRE_INTEGER = Number.MAX_SAFE_INTEGER; // 2^53-1
