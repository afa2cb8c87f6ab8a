import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes `text` to `fd` synchronously and whole. A non-blocking pipe or FIFO that is full answers
 * EAGAIN: wait briefly and retry, up to `timeoutMillis`, then throw (the caller counts the batch
 * as failed). A regular file takes the whole chunk in one write.
 */
export function writeLinesSync(fd: number, text: string, timeoutMillis: number): void {
  let written = 0;
  try {
    written = writeSync(fd, text);
  } catch (error) {
    if (!isWouldBlock(error)) throw error;
  }
  if (written >= Buffer.byteLength(text)) return;
  writeBytesSync(fd, Buffer.from(text, 'utf8').subarray(written), timeoutMillis);
}

/** {@link writeLinesSync} for bytes already encoded. */
export function writeBytesSync(fd: number, bytes: Buffer, timeoutMillis: number): void {
  const length = bytes.length;
  const deadline = Date.now() + timeoutMillis;
  let offset = 0;
  while (offset < length) {
    try {
      offset += writeSync(fd, bytes, offset, length - offset);
    } catch (error) {
      if (!isWouldBlock(error) || Date.now() >= deadline) throw error;
      // A short sleep, not a spin: the reader needs the CPU to empty the pipe.
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

function isWouldBlock(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}
