import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { normalizeSourceVersion } from '../events/cost-event.js';
import { reportError } from '../report-error.js';

type Resource = ReadableSpan['resource'];

/**
 * The event `source` derived from a span's resource: `service.name@service.version`.
 *
 * Reads the resource's raw attributes, never `resource.attributes` while async attributes
 * (NodeSDK's host and process detectors) are pending: OpenTelemetry logs "Accessing resource
 * attributes before async attributes settled" for that read. A source derived while
 * `service.name` or `service.version` is still pending is not kept; the resource is asked to
 * settle (once), and later events carry the settled source.
 */
export class ResourceSource {
  private cached: { resource: Resource; source: string } | undefined;
  private readonly settling = new WeakSet<Resource>();

  source(resource: Resource): string {
    if (this.cached?.resource === resource) return this.cached.source;
    const { values, settled } = readServiceAttributes(resource);
    const name =
      String(values['service.name'] ?? 'unknown_service')
        .replace(/[^A-Za-z0-9._/-]+/g, '_')
        .replace(/^[^A-Za-z0-9]+/, '') || 'unknown_service';
    const version = normalizeSourceVersion(String(values['service.version'] ?? '')) ?? '0.0.0';
    const source = `${name}@${version}`;
    if (settled) this.cached = { resource, source };
    else this.settle(resource);
    return source;
  }

  private settle(resource: Resource): void {
    if (this.settling.has(resource) || typeof resource.waitForAsyncAttributes !== 'function') return;
    this.settling.add(resource);
    try {
      resource.waitForAsyncAttributes().catch(reportError);
    } catch (error) {
      reportError(error);
    }
  }
}

const KEYS = ['service.name', 'service.version'] as const;

function readServiceAttributes(resource: Resource): { values: Record<string, string | number | boolean | undefined>; settled: boolean } {
  const values: Record<string, string | number | boolean | undefined> = {};
  if (resource.asyncAttributesPending !== true || typeof resource.getRawAttributes !== 'function') {
    for (const key of KEYS) values[key] = scalar(resource.attributes[key]);
    return { values, settled: true };
  }
  // Mirrors `resource.attributes`: the first settled, non-null value of a key wins.
  let settled = true;
  for (const [key, value] of resource.getRawAttributes()) {
    if (!(KEYS as readonly string[]).includes(key) || values[key] !== undefined) continue;
    if (isPromiseLike(value)) settled = false;
    else values[key] = scalar(value);
  }
  return { values, settled };
}

function isPromiseLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function scalar(value: unknown): string | number | boolean | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
}
