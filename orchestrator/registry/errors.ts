// The device registry's errors (runtime/errors.ts family): what a registration, patch, revoke or
// import was refused for. The HTTP status of each code is decided in http/errors.ts, not here.
import { FleetError } from '../../runtime/errors.js';

/** A field of one device failed validation (validate-device.ts); also a bulk import line's code. */
export type DeviceInputCode =
  | 'bad_schema'
  | 'invalid_device_id'
  | 'invalid_public_key'
  | 'invalid_vendor_id'
  | 'invalid_class_id'
  | 'invalid_groups'
  | 'invalid_tags'
  | 'invalid_attributes'
  | 'too_many_attributes';

export type RegistryErrorCode =
  | DeviceInputCode
  | 'not_found'
  | 'device_exists'
  /** An import body larger than its limit. */
  | 'too_large'
  /** A CSV import whose header lacks a required column. */
  | 'bad_csv_header';

export class RegistryError extends FleetError<RegistryErrorCode> {}
