import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from './__fixtures__/chromium.js';
import { rewriteEvents, writeSdkEvents } from './__fixtures__/sdk-events.js';
import { main } from './main.js';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const artifacts = fileURLToPath(new URL('../../../artifacts/', import.meta.url));
let directory: string;
let htmlPath: string;

/** What the page exposes, typed here because the test project has no DOM lib. */
interface CanvasLike {
  width: number;
  height: number;
  getContext(type: '2d'): { getImageData(x: number, y: number, width: number, height: number): { data: ArrayLike<number> } } | null;
}
interface PageGlobals {
  costspanCharts?: Array<{ config: { type: string }; data: { labels: string[] } }>;
  Chart: { instances: Record<string, unknown> };
  document: { querySelectorAll(selector: string): ArrayLike<CanvasLike> };
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-html-'));
  const eventsPath = join(directory, 'events.jsonl');
  await writeSdkEvents(eventsPath, { billingRuns: 3 });
  // Spread the events over five days so the time chart has a line to draw.
  rewriteEvents(eventsPath, (event, index) => ({ ...event, timestamp: `2026-03-0${1 + (index % 5)}${event.timestamp.slice(10)}` }));
  htmlPath = join(directory, 'report.html');
  const sink = new PassThrough();
  sink.resume();
  const code = await main(['report', eventsPath, '--html', htmlPath], { stdout: sink, stderr: sink, stdin: Readable.from([]), env: {} });
  expect(code).toBe(0);
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('report --html', () => {
  it('writes one self-contained page: chart.js inlined, no external URL', () => {
    const html = readFileSync(htmlPath, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Chart.js v4');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.chartjs\.org|github\.com)/);
    expect(html).toContain('$0.02465');
  });

  it('renders three charts in headless Chromium (canvases not blank), screenshot kept in artifacts/', async () => {
    const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const requests: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith('file:')) requests.push(request.url());
      });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(pathToFileURL(htmlPath).href);
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).costspanCharts?.length === 3);
      const result = await page.evaluate(() => {
        const page = globalThis as unknown as PageGlobals;
        const charts = page.costspanCharts ?? [];
        const canvases = Array.from(page.document.querySelectorAll('canvas')).map((canvas) => {
          const context = canvas.getContext('2d');
          if (context === null) return 0;
          const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
          let painted = 0;
          for (let index = 3; index < pixels.length; index += 4) if ((pixels[index] as number) > 0) painted += 1;
          return painted;
        });
        const registry = page.Chart.instances;
        return {
          types: charts.map((chart) => chart.config.type),
          labels: charts.map((chart) => chart.data.labels.length),
          canvases,
          instances: Object.keys(registry).length,
        };
      });
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      expect(result.instances).toBe(3);
      expect(result.types).toEqual(['line', 'doughnut', 'bar']);
      expect(result.labels).toEqual([5, 4, 4]);
      for (const painted of result.canvases) expect(painted).toBeGreaterThan(1000);
      // The fixture's unpriced model is announced in a visible banner and marked in its row, not a plain $0.00.
      const banner = page.locator('#warnings');
      expect(await banner.isVisible()).toBe(true);
      expect(await banner.innerText()).toMatch(/could not be priced .*mystery-model/);
      expect(await page.locator('tr.incomplete', { hasText: 'mystery-model' }).first().innerText()).toMatch(/unpriced/);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'cli-report-html.png'), fullPage: true });
      expect(existsSync(join(artifacts, 'cli-report-html.png'))).toBe(true);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
