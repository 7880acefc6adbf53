/**
 * Every way a received message can be refused. Receivers count these by code
 * and log the reason; none of them may crash a receiver.
 */
export type ProtocolErrorCode =
  | 'TOPIC_UNKNOWN' // no route in the topic map matches the topic
  | 'TOPIC_PARAM' // a topic segment such as {deviceId} is not a valid id
  | 'EMPTY' // zero-byte payload where a message is expected
  | 'TOO_LARGE' // payload above the route's maxBytes
  | 'NOT_UTF8' // JSON route, payload is not valid UTF-8
  | 'NOT_JSON' // JSON route, payload does not parse
  | 'SCHEMA' // parsed, but does not match the schema (field names the culprit)
  | 'FRAME'; // binary route, the frame header or body is malformed

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    /** JSON pointer of the offending field ('' for the whole message) */
    readonly field = '',
  ) {
    super(field ? `${field}: ${message}` : message);
  }

  /** The shape a receiver logs or sends back in a reject/ack reason. */
  toJSON(): { code: ProtocolErrorCode; field: string; message: string } {
    return { code: this.code, field: this.field, message: this.message };
  }
}

export type Result<T, E = ProtocolError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = (error: ProtocolError): Result<never> => ({ ok: false, error });
