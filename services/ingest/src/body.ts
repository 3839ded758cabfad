import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { supportedEncoding, tooLargeMessage } from './batch.js';

/**
 * Request bodies of the event routes are read as bytes here and parsed where they are processed
 * (see `pool.ts`). The size limit applies to the decompressed body; a compressed body is read up
 * to the limit plus gzip's worst-case overhead on incompressible data, then inflated with the limit
 * on its output.
 */
export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 415,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RawBody {
  body: Uint8Array;
  encoding: string;
}

export function readRaw(headers: IncomingHttpHeaders, payload: Readable, limit: number): Promise<RawBody> {
  const encoding = (headers['content-encoding'] ?? 'identity').trim().toLowerCase() || 'identity';
  if (!supportedEncoding(encoding)) {
    return Promise.reject(new BodyError(415, 'unsupported_media_type', `content-encoding ${JSON.stringify(encoding)} is not supported: send gzip, deflate, br or none`));
  }
  const max = encoding === 'identity' ? limit : limit + Math.ceil(limit / 100) + 1024;
  const length = Number(headers['content-length']);
  if (length > max) return Promise.reject(new BodyError(413, 'payload_too_large', tooLargeMessage(limit)));
  return new Promise<RawBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      payload.removeListener('data', onData);
      if (err) {
        // The rest of the body is left unread; the server discards it after the answer.
        payload.resume();
        return reject(err);
      }
      // One owned ArrayBuffer: it can be moved to a worker thread without a copy.
      const body = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.length;
      }
      resolve({ body, encoding });
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) return finish(new BodyError(413, 'payload_too_large', tooLargeMessage(limit)));
      chunks.push(chunk);
    };
    payload.on('data', onData);
    payload.once('end', () => finish());
    payload.once('error', (err) => finish(new BodyError(400, 'bad_request', `body could not be read (${err.message})`)));
  });
}
