import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { findPushes, rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';

/**
 * The official WCS console page (examples/demo/streaming/console of the Web SDK), unmodified, against two of
 * our servers. It reaches every node at WCS's default ports (REST 8081, WebSocket 8080, from its ports.js),
 * so each server gets an address of its own on the loopback network with those ports.
 */
const NODE_IPS = ['127.0.22.1', '127.0.22.2'] as const;
const consoleUrl = (ip: string): string =>
  `http://${ip}:8081/demo/examples/demo/streaming/console/console.html`;
const nodeButton = (ip: string): string => `[id="${ip.replace(/[.:]/g, '')}"]`;
const restUrl = (ip: string): string => `http://${ip}:8081`;
const wsUrl = (ip: string): string => `ws://${ip}:8080`;

describe('the official WCS console page against two of our servers', () => {
  let browser: Browser;
  const nodes: RunningMedia[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    for (const ip of NODE_IPS)
      nodes.push(
        await startMedia({
          listen: { ip, announcedIps: [ip] },
          signalling: { wsPort: 8080 },
          rest: { port: 8081 },
        }),
      );
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  async function openConsole(): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // DataTables reports a missing field with alert(): none may come
    page.on('dialog', (dialog) => {
      pageErrors.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(consoleUrl(NODE_IPS[0]));
    for (const ip of NODE_IPS) {
      await page.fill('#nodeIp', ip);
      await page.click('#addNodeFormSubmit');
    }
    return page;
  }

  /**
   * The details view's type, applied as a user does: Apply, then the node again (the page stops polling a
   * view whose type changed under it until its node is selected anew).
   */
  async function showDetails(page: Page, type: 'all' | 'pulled'): Promise<void> {
    await page.selectOption('#streamsTableInfoType', type);
    await page.click('#streamsTableInfoTypeBtn');
    await page.click(nodeButton(NODE_IPS[0]));
  }

  it('answers /?action=stat as WCS does (groups of key=value lines)', async () => {
    const response = await fetch(`http://${NODE_IPS[0]}:8081/?action=stat`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.split('\n')[0]).toBe('-----Connection Stats-----');
    for (const field of [
      'connections_websocket=',
      'streams_webrtc_in=',
      'system_java_cpu_usage=',
      'core_threads=',
    ])
      expect(text).toContain(field);
    const json = (await (
      await fetch(`http://${NODE_IPS[0]}:8081/?action=stat&format=json&groups=transcoding_stats`)
    ).json()) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['transcoding_stats']);
  });

  it('shows both nodes green, lists a stream, pushes it over WebRTC to node 2 where it plays, monitors its metrics, and TERMINATE ends it and its push', async () => {
    const publisher = await TwoWayStreamingPage.open(browser, restUrl(NODE_IPS[0]), wsUrl(NODE_IPS[0]));
    const page = await openConsole();
    try {
      // both nodes polled /?action=stat and turned green, with their figures in the table
      for (const ip of NODE_IPS)
        await waitFor(
          async () => (await page.getAttribute(nodeButton(ip), 'class'))?.includes('list-group-item-success'),
          `node ${ip} green`,
        );
      expect(await page.locator('#generalInfoTable tr').count()).toBe(2);

      await publisher.publish('console-src');
      await publisher.waitPublishStatus('PUBLISHING');
      await page.click(nodeButton(NODE_IPS[0]));
      await waitFor(
        async () => (await page.textContent('#streamsTableBody'))?.includes('console-src'),
        'the stream listed on node 1',
      );

      // Push streams, WebRTC, to node 2: the console asks /pull/push for remote name + quantity
      await page.click('#pushStreamBatchModalBtn');
      await page.waitForSelector('#pushStreamBatchModal.in');
      await page.selectOption('#pushStreamBatchNodes', NODE_IPS[1]);
      await page.fill('#pushBatchLocalName', 'console-src');
      await page.fill('#pushBatchRemoteName', 'console-copy');
      await page.fill('#pushBatchQty', '1');
      await page.click('#pushBatchStream');
      await waitFor(
        async () => (await findPushes(restUrl(NODE_IPS[0]))).find((p) => p.status === 'PUBLISHING'),
        'the push PUBLISHING',
        30_000,
      );

      const player = await PlayerPage.open(
        browser,
        restUrl(NODE_IPS[1]),
        wsUrl(NODE_IPS[1]),
        'console-copy1',
      );
      await framesKeepDecoding(player, 'of the pushed stream on node 2');
      await player.page.close();

      // the Pulled view lists the push
      await showDetails(page, 'pulled');
      await waitFor(
        async () => (await page.textContent('#streamsTableBody'))?.includes('console-copy1->console-src'),
        'the push in the Pulled view',
      );

      // Monitoring: /stream/find with null filters and metrics, WCS's transcoding stats
      await showDetails(page, 'all');
      await page.click('#metricsModalBtn');
      await page.waitForSelector('#streamMetricsModal.in');
      // NACKs on loopback are rare, not impossible: any count passes
      await page.selectOption('#videoNackThresholdFilter', 'goe');
      await page.click('#streamMonitoring');
      await waitFor(
        async () => (await page.textContent('#metricsTable tbody'))?.includes('console-src'),
        'the stream in the monitoring view',
        20_000,
      );
      // name, type, width, height, rate, NACK, B-frames, lost, FPS: a publishing stream's live figures
      const cells = await page.locator('#metricsTable tbody tr').first().locator('td').allTextContents();
      expect(cells[1]).toBe('console-src');
      expect(cells[2]).toBe('publish');
      expect(Number(cells[5])).toBeGreaterThan(0);
      expect(Number(cells[9])).toBeGreaterThan(0);
      await page.click('#streamMetricsDetailsModal button.close');
      await page.waitForSelector('#streamMetricsDetailsModal', { state: 'hidden' });

      // TERMINATE in the node's stream table ends the stream, and with it the push and its copy on node 2
      await page.click('#streamsTableBody tr:has-text("console-src") button.btn-danger');
      await publisher.waitPublishStatus('UNPUBLISHED');
      await waitFor(async () => (await findPushes(restUrl(NODE_IPS[0]))).length === 0, 'the push ended');
      await waitFor(
        async () => (await rest(restUrl(NODE_IPS[1]), '/rest-api/stream/find_all')).status === 404,
        'the copy on node 2 ended',
      );
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
      await publisher.page.close();
    }
  }, 180_000);

  it('ends the stream-snapshot demo with FAILED: we take no snapshots', async () => {
    const page = await browser.newPage();
    try {
      const name = 'snap-src';
      await page.goto(
        `http://${NODE_IPS[0]}:8081/demo/examples/demo/streaming/stream-snapshot/stream-snapshot.html`,
      );
      await page.fill('#url', `ws://${NODE_IPS[0]}:8080/${name}`);
      await page.click('#publishBtn');
      await waitFor(async () => (await page.textContent('#status')) === 'PUBLISHING', 'PUBLISHING');
      await page.click('#snapshotBtn');
      await waitFor(async () => (await page.textContent('#snapshotStatus')) === 'FAILED', 'snapshot FAILED');
      expect(await page.isDisabled('#snapshotBtn')).toBe(false);
    } finally {
      await page.close();
    }
  }, 60_000);
});
