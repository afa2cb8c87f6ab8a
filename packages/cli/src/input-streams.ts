import { closeSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CliError } from './cli-error.js';

const CHUNK_BYTES = 128 * 1024;

/**
 * A file's bytes in chunks of 128 KiB read into one buffer, reused: each chunk is
 * valid until the next is asked for (the scanner copies what it keeps). Memory
 * stays one buffer, where a read stream's fresh buffer a chunk leaves a gigabyte
 * of garbage behind for the collector. 128 KiB: the kernel copies into a buffer that stays in cache
 * about three times faster than into one of 256 KiB. Reads are synchronous: the CLI has
 * nothing else to do meanwhile, and a regular file's reads are page-cache copies.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async, to stand where a read stream stood
export async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const descriptor = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const count = readSync(descriptor, buffer, 0, CHUNK_BYTES, null);
      if (count === 0) return;
      yield buffer.subarray(0, count);
    }
  } finally {
    closeSync(descriptor);
  }
}

/** Passes chunks on as Buffers, telling `onChunk` the size of each (the bytes read, compressed or not). */
export async function* countBytes(source: AsyncIterable<Buffer | string>, onChunk: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    onChunk(buffer.length);
    yield buffer;
  }
}

/**
 * The bytes of an input, decompressed when they are gzip, told by content (the
 * magic bytes), not by the name: a collector's file exporter names files as it is
 * configured. Looks at the first bytes as they pass, so standard input works too.
 *
 * A gzip stream that ends early (a writer killed mid-write) yields every byte decompressed
 * before the cut and then ends, telling `options.onTruncated`; without it, or for any other
 * damage (a bad header, a CRC mismatch), zlib's error is thrown.
 *
 * @throws CliError `input_error` for zstd (what the collector's file exporter writes with
 * `compression: zstd`), which Node 20 cannot decompress
 */
export async function* decompressed(
  source: AsyncIterable<Buffer>,
  name: string,
  options: { onTruncated?: () => void } = {},
): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  while (head.length < 4) {
    const next = await iterator.next();
    if (next.done === true) break;
    head = head.length === 0 ? next.value : Buffer.concat([head, next.value]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    // zlib holds on to a chunk while it works: copies, since a chunk's buffer may be reused.
    yield* gunzip(copies(rest()), options.onTruncated);
    return;
  }
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    throw new CliError({
      code: 'input_error',
      message: `${name} is zstd-compressed, which costspan cannot read: decompress it first (zstd -dc ${name} | costspan report -), or write gzip or plain files`,
    });
  }
  yield* rest();
}

async function* copies(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield Buffer.from(chunk);
}

async function* gunzip(source: AsyncIterable<Buffer>, onTruncated: (() => void) | undefined): AsyncGenerator<Buffer> {
  const input = Readable.from(source, { objectMode: false });
  const output = createGunzip();
  input.on('error', (error) => output.destroy(error));
  input.pipe(output);
  try {
    for await (const chunk of output) yield chunk as Buffer;
  } catch (error) {
    // zlib has handed on everything it decompressed before the cut: what was recorded is kept.
    if (onTruncated === undefined || !isCutShort(error)) throw error;
    onTruncated();
  } finally {
    input.destroy();
  }
}

/**
 * Whether zlib's error says the stream ended early (`Z_BUF_ERROR`, "unexpected end of file").
 * A CRC or length mismatch in the trailer is `Z_DATA_ERROR`, as is a bad header: corrupt, not cut.
 */
function isCutShort(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'Z_BUF_ERROR';
}
