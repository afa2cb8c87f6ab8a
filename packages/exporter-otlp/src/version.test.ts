import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('package', () => {
  it('EXPORTER_VERSION matches package.json', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect(api.EXPORTER_VERSION).toBe(manifest.version);
    expect(api.EXPORTER_NAME).toBe(manifest.name);
  });

  it('exports exactly the documented API', () => {
    expect(Object.keys(api).sort()).toEqual([
      'CostHistogramProducer',
      'EXPORTER_NAME',
      'EXPORTER_VERSION',
      'OtlpLogEventExporter',
      'costEventToLogRecord',
      'createCostspanOtlp',
      'registerCostspan',
      'timestampToHrTime',
    ]);
  });
});
