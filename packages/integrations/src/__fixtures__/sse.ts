import { RawFixture } from './fixture-server.js';

/** A `text/event-stream` body of `data:` lines (`event:` lines too when `named`), ending with `data: [DONE]` when `done`. */
export function sseFixture(events: readonly object[], options: { named?: boolean; done?: boolean } = {}): RawFixture {
  const lines = events.map((event) => {
    const type = (event as { type?: unknown }).type;
    const name = options.named === true && typeof type === 'string' ? `event: ${type}\n` : '';
    return `${name}data: ${JSON.stringify(event)}\n\n`;
  });
  if (options.done === true) lines.push('data: [DONE]\n\n');
  return new RawFixture(lines.join(''), 'text/event-stream');
}
