import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One sample of an instant query: its labels and value. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the child to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real Prometheus (`PROMETHEUS_PATH`, else `prometheus` on the PATH: the Debian package) on 127.0.0.1, with its own config
 * and data folder in a temp dir, scraping `target` every `scrapeIntervalSeconds`. Not the system
 * service: the test starts and stops this process itself.
 */
export class PrometheusServer {
  private child: ChildProcess | undefined;
  private directory: string | undefined;
  private output = '';
  url = '';

  async start(target: string, scrapeIntervalSeconds = 1): Promise<this> {
    const directory = mkdtempSync(join(tmpdir(), 'costspan-prometheus-'));
    this.directory = directory;
    const config = join(directory, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        `  scrape_interval: ${scrapeIntervalSeconds}s`,
        `  scrape_timeout: ${scrapeIntervalSeconds}s`,
        'scrape_configs:',
        '  - job_name: costspan',
        '    static_configs:',
        `      - targets: ['${target}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const fromEnvironment = process.env.PROMETHEUS_PATH;
    const binary = fromEnvironment !== undefined && fromEnvironment !== '' ? fromEnvironment : 'prometheus';
    const child = spawn(
      binary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(directory, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (error) =>
        reject(new Error(`cannot start ${binary} (apt-get install -y prometheus, or set PROMETHEUS_PATH): ${error.message}`)),
      );
      child.once('exit', (code) => reject(new Error(`prometheus exited with ${String(code)} before it was ready:\n${this.output}`)));
    });
    failed.catch(() => undefined);
    await Promise.race([this.waitReady(30_000), failed]);
    return this;
  }

  /** Instant PromQL query through the HTTP API (`/api/v1/query`). */
  async query(promql: string): Promise<PromSample[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`query ${promql} failed: ${body.error ?? response.status}`);
    return body.data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
  }

  /** Polls `promql` until `done` holds of its samples, at most `timeoutMs`; returns the last samples. */
  async waitFor(promql: string, done: (samples: PromSample[]) => boolean, timeoutMs = 30_000): Promise<PromSample[]> {
    const deadline = Date.now() + timeoutMs;
    let samples: PromSample[] = [];
    while (Date.now() < deadline) {
      samples = await this.query(promql);
      if (done(samples)) return samples;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${promql} did not reach the expected value within ${timeoutMs} ms; last: ${JSON.stringify(samples)}\n${this.output}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (this.directory !== undefined) rmSync(this.directory, { recursive: true, force: true });
    this.directory = undefined;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${this.url}/-/ready`);
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`prometheus was not ready within ${timeoutMs} ms:\n${this.output}`);
  }
}
