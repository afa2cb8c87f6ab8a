import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * `{"question":"refund?"}` in two chunks 50 ms apart: the body's end then arrives from the socket,
 * outside the async context of the middleware, as it does for real uploads.
 */
export function slowBody(): Readable {
  return Readable.from(chunks());
}

async function* chunks(): AsyncGenerator<Buffer> {
  yield Buffer.from('{"question":');
  await delay(50);
  yield Buffer.from('"refund?"}');
}
