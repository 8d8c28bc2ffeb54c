// Size limits shared by the store, the codec and the protocol. A value over a limit is refused
// before anything is written; a peer's frame over a limit is refused before it is parsed.

export const DEVICE_ID_BYTES = 8;
export const MAX_KEY_BYTES = 512;
/** A note body of 1 MiB is a very long note; larger text belongs in an attachment. */
export const MAX_VALUE_BYTES = 1024 * 1024;
/** Concurrent versions of one key; more means something is wrong, not a real edit pattern. */
export const MAX_VERSIONS = 64;
export const MAX_CONTEXT_DEVICES = 1024;
/** One encoded record can never exceed this, so it always fits in a frame. */
export const MAX_RECORD_BYTES = MAX_VALUE_BYTES * 2 + 64 * 1024;
