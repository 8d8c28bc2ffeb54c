// Every error the engine throws on purpose is an EngineError with a stable `code`, so hosts can
// map it to an HTTP status or a UI message without parsing text.

export type ErrorCode =
  | 'E_INVALID_KEY'
  | 'E_INVALID_VALUE'
  | 'E_VALUE_TOO_LARGE'
  | 'E_INVALID_RECORD'
  | 'E_STORE_FORMAT'
  | 'E_STORE_NEWER'
  | 'E_STORE_UNSUPPORTED'
  | 'E_STORE_CLOSED'
  | 'E_STORE_DAMAGED'
  | 'E_DIR_LOCKED'
  | 'E_FRAME_MALFORMED'
  | 'E_FRAME_TOO_LARGE'
  | 'E_PROTOCOL_VERSION'
  | 'E_PROTOCOL_STATE'
  | 'E_PEER_ERROR'
  | 'E_INVALID_INVITE' | 'E_VAULT_FORMAT' | 'E_VAULT_EXISTS' | 'E_DIAL_FAILED' | 'E_NOT_STARTED'
  | 'E_NOT_FOUND'
  | 'E_INVALID_BASE' | 'E_UNKNOWN_BASE' | 'E_STALE_BASE'
  | 'E_INVALID_CURSOR' | 'E_INVALID_LIMIT'
  | 'E_SYNC_OFF';

export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.details = details;
  }
}

/** Input from a user or an API caller that was refused before anything was written. */
export class ValidationError extends EngineError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'ValidationError';
  }
}

/** The database file cannot be used as a store; the file was left untouched. */
export class StoreError extends EngineError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'StoreError';
  }
}

/** Bytes from a peer that do not form a valid frame, or a frame out of turn. */
export class ProtocolError extends EngineError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'ProtocolError';
  }
}
