// How the HTTP server turns failures into responses. Every error body has one shape,
// `{ "error": { "code", "message" } }` (app/api.ts ApiError), so the client can rethrow it with
// its code. Engine errors keep their code and message (they are written for users); anything
// else is a bug, so the caller gets a generic 500 and the details go to the log only.

import { EngineError, ValidationError } from '../engine/core/errors.ts';

/** A refusal decided by the HTTP layer itself (auth, routing, body), before the API is called. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  /** Extra response headers, e.g. Allow on 405 or WWW-Authenticate on 401. */
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

// Engine codes whose status is not simply "the caller's input was wrong".
const STATUS_BY_CODE: Record<string, number> = {
  E_NOT_FOUND: 404,
  E_VALUE_TOO_LARGE: 413,
  E_SYNC_OFF: 503,
  E_NOT_STARTED: 503,
  E_STORE_CLOSED: 503,
  // join() on a device that already has a vault or notes of its own.
  E_VAULT_EXISTS: 409,
  // saveNote() with a base this device's own newer edit overlaps: read the note again.
  E_STALE_BASE: 409,
  // addPeer()/join() could not reach the other laptop: the failure is upstream of this server.
  E_DIAL_FAILED: 502,
};

export interface ErrorResponse {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers: Record<string, string>;
  /** False when the error is a bug: the caller sees a generic message and we log the details. */
  readonly expected: boolean;
}

export const INTERNAL: Omit<ErrorResponse, 'headers' | 'expected'> = {
  status: 500,
  code: 'E_INTERNAL',
  message: 'internal error; see the host log',
};

export function toErrorResponse(e: unknown): ErrorResponse {
  if (e instanceof HttpError) return { status: e.status, code: e.code, message: e.message, headers: e.headers, expected: true };
  if (e instanceof EngineError) {
    const status = STATUS_BY_CODE[e.code] ?? (e instanceof ValidationError || e.code.startsWith('E_INVALID_') ? 400 : undefined);
    if (status !== undefined) return { status, code: e.code, message: e.message, headers: {}, expected: true };
  }
  // Store damage, protocol state, a TypeError: nothing the caller can act on, and the message
  // may carry paths or internals.
  return { ...INTERNAL, headers: {}, expected: false };
}
