import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
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
const SECTIONS = [
  'unpriced',
  'summary',
  'efficiency',
  'charts',
  'what-if',
  'spikes',
  'user',
  'team',
  'org',
  'tag',
  'model',
  'agent',
  'day',
  'top-runs',
] as const;
const artifacts = fileURLToPath(new URL('../../../artifacts/', import.meta.url));
let directory: string;
let eventsPath: string;
let htmlPath: string;
let json: JsonReport;
let browser: Browser;
let page: Page;

/** The parts of `report --format json` the page is checked against. */
interface JsonReport {
  totals: { cost_usd: string };
  breakdowns: Record<string, Array<{ key: string; cost_usd: string }>>;
  spikes?: Array<{ dimension: string; key: string; day: string }>;
}

/** What the page exposes, typed here because the test project has no DOM lib. */
interface ChartLike {
  config: { type: string };
  data: { labels: string[]; datasets: Array<{ label: string }> };
  scales: Record<string, { ticks: Array<{ label: string }> } | undefined>;
}
interface CanvasLike {
  width: number;
  height: number;
  getContext(type: '2d'): {
    drawImage(image: unknown, x: number, y: number): void;
    getImageData(x: number, y: number, width: number, height: number): { data: ArrayLike<number> };
  } | null;
}
interface PageGlobals {
  costspanCharts?: ChartLike[];
  Image: new () => { src: string; width: number; height: number; decode(): Promise<void> };
  document: { createElement(name: 'canvas'): CanvasLike };
}

async function run(argv: string[]): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  const sink = new PassThrough();
  sink.resume();
  const out: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  const code = await main(argv, { stdout, stderr: sink, stdin: Readable.from([]), env: {} });
  return { code, stdout: Buffer.concat(out).toString('utf8') };
}

/** Pixels of a PNG (decoded by Chromium itself) that are not near-white. */
async function paintedPixels(png: Buffer): Promise<number> {
  return page.evaluate(async (base64) => {
    const globals = globalThis as unknown as PageGlobals;
    const image = new globals.Image();
    image.src = `data:image/png;base64,${base64}`;
    await image.decode();
    const canvas = globals.document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext('2d');
    if (context === null) return 0;
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let index = 0; index < pixels.length; index += 4) {
      if ((pixels[index] as number) < 220 || (pixels[index + 1] as number) < 220 || (pixels[index + 2] as number) < 220) painted += 1;
    }
    return painted;
  }, png.toString('base64'));
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-html-'));
  eventsPath = join(directory, 'events.jsonl');
  // 10 root runs of billing-agent ($0.002 each), the support run ($0.01865, with the unpriced
  // mystery-model) and 2 priced-agent runs (cache and reasoning tokens): 13 roots, 10 shown.
  await writeSdkEvents(eventsPath, { billingRuns: 10, pricedRuns: 2 });
  // Billing spread over 2026-03-01..04, everything else on 2026-03-05: a spike on the 5th.
  rewriteEvents(eventsPath, (event, index) => ({
    ...event,
    timestamp: `2026-03-0${event.payload.agent_name === 'billing-agent' ? 1 + (index % 4) : 5}${event.timestamp.slice(10)}`,
  }));
  htmlPath = join(directory, 'report.html');
  const html = await run(['report', eventsPath, '--html', htmlPath, '--reprice', 'gpt-4o=gpt-4o-mini']);
  expect(html.code).toBe(0);
  const report = await run(['report', eventsPath, '--format', 'json', '--group-by', 'model,agent,user,team,org,tag,day']);
  expect(report.code).toBe(0);
  json = JSON.parse(report.stdout) as JsonReport;
  browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('report --html', () => {
  it('writes one self-contained page: chart.js inlined, no external URL', () => {
    const html = readFileSync(htmlPath, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Chart.js v4');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.chartjs\.org|github\.com)/);
    expect(html).toContain('@media print');
  });

  it('in Chromium: every section present and painted, no request, no error; totals equal the JSON report', async () => {
    const requests: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith('file:') && !request.url().startsWith('data:')) requests.push(request.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(htmlPath).href);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).costspanCharts?.length === 3);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'cli-report-html.png'), fullPage: true });
    for (const id of SECTIONS) {
      const section = page.locator(`#section-${id}`);
      expect(await section.count(), id).toBe(1);
      expect(await section.isVisible(), id).toBe(true);
      const painted = await paintedPixels(await section.screenshot());
      expect(painted, `#section-${id} painted pixels`).toBeGreaterThan(id === 'charts' ? 20_000 : 1_500);
    }
    // Totals and every principal row equal the JSON report, exactly.
    expect(await page.locator('#summary-total').getAttribute('data-cost-usd')).toBe(json.totals.cost_usd);
    for (const dimension of ['user', 'team', 'org', 'tag', 'model', 'agent', 'day']) {
      const cells = await page.locator(`#section-${dimension} tbody tr`).evaluateAll((rows) =>
        rows.map((row) => {
          const cells = (row as unknown as { cells: ArrayLike<{ textContent: string; getAttribute(name: string): string | null }> }).cells;
          return { key: cells[0]?.textContent ?? '', cost: cells[1]?.getAttribute('data-cost-usd') ?? '' };
        }),
      );
      const expected = (json.breakdowns[dimension] ?? []).map((row) => ({ key: row.key, cost: row.cost_usd }));
      // At most 10 rows, then one "other (N)" row (days are all shown).
      expect(cells.slice(0, 10), dimension).toEqual(expected.slice(0, 10));
      if (expected.length > 10 && dimension !== 'day') expect(cells[10]?.key).toBe(`other (${expected.length - 10})`);
    }
  }, 90_000);

  it('shows who spent what: principals with top N + other, unpriced models named, money axes in $, thousands separators', async () => {
    expect(await page.locator('#section-user tbody tr').allInnerTexts()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alice\t\$0\.01865/),
        expect.stringMatching(/^carol/),
        expect.stringMatching(/^bob\t\$0\.02/),
      ]),
    );
    expect(await page.locator('#section-tag').innerText()).toContain('env=prod');
    const banner = await page.locator('#section-unpriced').innerText();
    expect(banner).toMatch(/1 call could not be priced/);
    expect(banner).toContain('mystery-model: 1 call');
    expect(await page.locator('#section-model tr.incomplete', { hasText: 'mystery-model' }).innerText()).toMatch(/1 unpriced/);
    expect(await page.locator('#summary-tokens').innerText()).toMatch(/\d,\d{3} \/ \d,\d{3}|\d,\d{3} \/ \d+/);
    const charts = await page.evaluate(() =>
      ((globalThis as unknown as PageGlobals).costspanCharts ?? []).map((chart) => ({
        type: chart.config.type,
        labels: chart.data.labels.length,
        datasets: chart.data.datasets.map((set) => set.label),
        ticks: (chart.scales['y']?.ticks ?? []).map((tick) => tick.label),
      })),
    );
    expect(charts.map((chart) => chart.type)).toEqual(['bar', 'doughnut', 'bar']);
    // Cost per day, stacked by model: one dataset per model, 5 days.
    expect(charts[0]?.labels).toBe(5);
    expect(charts[0]?.datasets).toEqual(expect.arrayContaining(['gpt-4o', 'claude-sonnet-4', 'gpt-4o-mini', 'mystery-model']));
    for (const chart of [charts[0], charts[2]]) {
      expect(chart?.ticks.length).toBeGreaterThan(1);
      for (const tick of chart?.ticks ?? []) expect(tick).toMatch(/^\$\d/);
    }
  });

  it('lists the 10 most expensive runs with their trees, cache savings, reasoning share, spikes and the what-if', async () => {
    const runs = page.locator('#section-top-runs details.run');
    expect(await runs.count()).toBe(10);
    const first = await runs.first().innerText();
    expect(first).toMatch(/^1\. support-agent run-support-1 \$0\.01865, 8 calls/);
    expect(first).toContain('researcher [run run-research-1]');
    expect(first).toContain('search ×3');
    expect(await page.locator('#cache-savings b').innerText()).toMatch(/^\$0\.0\d+/);
    expect(await page.locator('#reasoning-tokens b').innerText()).toMatch(/^[1-9]/);
    // The JSON report flags the spike on 2026-03-05; the page shows it.
    const spikes = json.spikes ?? [];
    expect(spikes.some((spike) => spike.dimension === 'day' && spike.day === '2026-03-05')).toBe(true);
    expect(await page.locator('#section-spikes').innerText()).toContain('2026-03-05');
    const whatIf = await page.locator('#section-what-if').innerText();
    expect(whatIf).toContain('What if: gpt-4o as gpt-4o-mini');
    expect(whatIf).toMatch(/gpt-4o → gpt-4o-mini/);
  });

  it('from standard input too: the input is spooled so the top runs still get their trees', async () => {
    const stdinPath = join(directory, 'stdin.html');
    const stdout = new PassThrough();
    stdout.resume();
    const code = await main(['report', '-', '--html', stdinPath], {
      stdout,
      stderr: stdout,
      stdin: Readable.from([readFileSync(eventsPath)]),
      env: {},
    });
    expect(code).toBe(0);
    const html = readFileSync(stdinPath, 'utf8');
    expect(html.match(/<details open class="run">/g)).toHaveLength(10);
    expect(html).toContain('researcher [run run-research-1]');
    expect(html).toContain(`data-cost-usd="${json.totals.cost_usd}"`);
  });

  it('prints: print styles apply, every section still shows, and Chromium renders a PDF', async () => {
    await page.emulateMedia({ media: 'print' });
    try {
      expect(
        await page
          .locator('.chart')
          .first()
          .evaluate((element) => (element as unknown as { clientHeight: number }).clientHeight),
      ).toBe(220);
      for (const id of SECTIONS) expect(await page.locator(`#section-${id}`).isVisible(), id).toBe(true);
      const pdf = join(artifacts, 'cli-report-html.pdf');
      await page.pdf({ path: pdf, format: 'A4', printBackground: true });
      expect(existsSync(pdf) && statSync(pdf).size).toBeGreaterThan(20_000);
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
  }, 60_000);
});
