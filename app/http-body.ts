// Reading a JSON request body with limits. Everything is checked before the API is called, so a
// refused body has changed nothing.

import type { IncomingMessage } from 'node:http';
import { MAX_VALUE_BYTES } from '../engine/core/limits.ts';
import { HttpError } from './http-errors.ts';

/**
 * A save carries at most a title and a body of up to 1 MiB each (engine/core/limits.ts); JSON escaping
 * of newlines and quotes can double that. Values that fit here but not in the store are refused
 * by the engine with E_VALUE_TOO_LARGE (also 413), so this limit only bounds memory.
 */
export const MAX_BODY_BYTES = 4 * MAX_VALUE_BYTES + 64 * 1024;

export type JsonObject = Record<string, unknown>;

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The body as a JSON object, or undefined when the request has none (some routes allow that).
 * 415 unless Content-Type is application/json (UTF-8), 413 over `limit`, 400 for bytes that are
 * not UTF-8 JSON or JSON that is not an object.
 */
export async function readJsonObject(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<JsonObject | undefined> {
  if (!hasBody(req)) return undefined;
  const type = (req.headers['content-type'] ?? '').toLowerCase().split(';').map((s) => s.trim());
  const charset = type.slice(1).find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (type[0] !== 'application/json' || (charset !== undefined && charset !== 'utf-8')) {
    throw new HttpError(415, 'E_UNSUPPORTED_MEDIA_TYPE', 'request bodies must be application/json (UTF-8)');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Buffer.concat(chunks)));
  } catch {
    throw new HttpError(400, 'E_MALFORMED_JSON', 'the request body is not valid UTF-8 JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(400, 'E_INVALID_VALUE', 'the request body must be a JSON object');
  }
  return parsed as JsonObject;
}

/** The body's fields, refusing any not in `allowed` (a typo must not be silently ignored). */
export function only(body: JsonObject | undefined, allowed: readonly string[], required: readonly string[] = []): JsonObject {
  if (body === undefined) {
    if (required.length > 0) throw new HttpError(400, 'E_INVALID_VALUE', `a JSON body with ${required.join(', ')} is required`);
    return {};
  }
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw new HttpError(400, 'E_INVALID_VALUE', `unknown field "${k}"`);
  }
  for (const k of required) {
    if (!(k in body)) throw new HttpError(400, 'E_INVALID_VALUE', `missing field "${k}"`);
  }
  return body;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'E_BODY_TOO_LARGE', `request bodies are limited to ${limit} bytes`, { Connection: 'close' });
}
