import type * as Fs from 'node:fs';
import { writeSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FdLineWriter, LineWriteError } from './fd-writer.js';

vi.mock('node:fs', async (importOriginal) => ({ ...(await importOriginal<typeof Fs>()), writeSync: vi.fn() }));

/** A pipe stand-in: takes up to `room` bytes, then answers EAGAIN until `room` is raised. */
class FakePipe {
  received = Buffer.alloc(0);
  room = Number.POSITIVE_INFINITY;
  /** What a write to the full pipe answers: EAGAIN (a slow reader), or e.g. EPIPE (the reader left). */
  full = 'EAGAIN';

  install(): void {
    vi.mocked(writeSync).mockImplementation(((_fd: number, data: string | Buffer, ...range: number[]) => {
      const [offset = 0, length = data.length] = range;
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data.subarray(offset, offset + length);
      if (this.room <= 0) throw Object.assign(new Error(`${this.full}: write failed`), { code: this.full });
      const taken = bytes.subarray(0, Math.min(bytes.length, this.room));
      this.room -= taken.length;
      this.received = Buffer.concat([this.received, taken]);
      return taken.length;
    }) as typeof writeSync);
  }
}

afterEach(() => {
  vi.mocked(writeSync).mockReset();
});

describe('FdLineWriter on a pipe whose reader stalls', () => {
  it('a write that gives up inside a line does not glue that line to the next batch', () => {
    const pipe = new FakePipe();
    pipe.install();
    const writer = new FdLineWriter(0);
    pipe.room = 6;
    expect(() => writer.writeLines(3, '{"i":1}\n{"i":2}\n')).toThrow(/EAGAIN/);
    pipe.room = Number.POSITIVE_INFINITY;
    writer.writeBytes(3, Buffer.from('{"i":3}\n'));
    writer.writeLines(3, '{"i":4}\n');
    const lines = pipe.received.toString('utf8').split('\n');
    // The torn line stays alone; every later event is a line of its own.
    expect(lines).toEqual(['{"i":1', '{"i":3}', '{"i":4}', '']);
  });

  it('a write that stops right after a newline adds none', () => {
    const pipe = new FakePipe();
    pipe.install();
    const writer = new FdLineWriter(0);
    pipe.room = 8;
    expect(() => writer.writeBytes(3, Buffer.from('{"i":1}\n{"i":2}\n'))).toThrow(/EAGAIN/);
    pipe.room = Number.POSITIVE_INFINITY;
    writer.writeLines(3, '{"i":3}\n');
    expect(pipe.received.toString('utf8')).toBe('{"i":1}\n{"i":3}\n');
  });

  it('waits out the timeout once per stall, not once per batch', () => {
    const pipe = new FakePipe();
    pipe.install();
    const writer = new FdLineWriter(100);
    pipe.room = 0;
    let started = Date.now();
    expect(() => writer.writeLines(3, 'a\n')).toThrow(/EAGAIN/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    started = Date.now();
    for (let batch = 0; batch < 10; batch += 1) expect(() => writer.writeBytes(3, Buffer.from('b\n'))).toThrow(/EAGAIN/);
    expect(Date.now() - started).toBeLessThan(90);
    // Once a write completes, a later full pipe is waited for again.
    pipe.room = Number.POSITIVE_INFINITY;
    writer.writeLines(3, 'c\n');
    pipe.room = 0;
    started = Date.now();
    expect(() => writer.writeLines(3, 'd\n')).toThrow(/EAGAIN/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(pipe.received.toString('utf8')).toBe('c\n');
  });
});

/** The error a write threw, checked to be a {@link LineWriteError}. */
function thrownBy(write: () => void): LineWriteError {
  try {
    write();
  } catch (error) {
    expect(error).toBeInstanceOf(LineWriteError);
    return error as LineWriteError;
  }
  throw new Error('the write did not throw');
}

describe('FdLineWriter: how much of a failed write went out', () => {
  it('counts the lines written whole before a full pipe timed out, not the torn one', () => {
    const pipe = new FakePipe();
    pipe.install();
    const writer = new FdLineWriter(0);
    pipe.room = 12;
    const error = thrownBy(() => writer.writeLines(3, '{"i":1}\n{"i":2}\n{"i":3}\n'));
    expect(error).toMatchObject({ linesWritten: 1, code: 'EAGAIN', message: 'EAGAIN: write failed' });
    expect(pipe.received.toString('utf8')).toBe('{"i":1}\n{"i"');
  });

  it('counts them when the reader leaves part-way (EPIPE), and none when nothing went out', () => {
    const pipe = new FakePipe();
    pipe.install();
    const writer = new FdLineWriter(1000);
    pipe.room = 16;
    pipe.full = 'EPIPE';
    expect(thrownBy(() => writer.writeBytes(3, Buffer.from('{"i":1}\n{"i":2}\n{"i":3}\n')))).toMatchObject({
      linesWritten: 2,
      code: 'EPIPE',
    });
    expect(thrownBy(() => writer.writeLines(3, '{"i":4}\n'))).toMatchObject({ linesWritten: 0, code: 'EPIPE' });
  });

  it('does not count the newline that ends a line an earlier write tore', () => {
    const pipe = new FakePipe();
    pipe.install();
    const writer = new FdLineWriter(0);
    pipe.room = 4;
    expect(thrownBy(() => writer.writeLines(3, '{"i":1}\n')).linesWritten).toBe(0);
    // The next write starts with the newline ending the torn line, then gets one line of its own out.
    pipe.room = 1 + 8 + 2;
    expect(thrownBy(() => writer.writeBytes(3, Buffer.from('{"i":2}\n{"i":3}\n'))).linesWritten).toBe(1);
    expect(pipe.received.toString('utf8')).toBe('{"i"\n{"i":2}\n{"');
  });
});
