import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, headless, with a fake camera and loopback ICE allowed. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** Frames decoded so far by the first <video> inside `container`. */
export async function framesDecoded(page: Page, container: string): Promise<number> {
  // Runs in the page; typed structurally so the Node build needs no DOM lib.
  type Video = { getVideoPlaybackQuality(): { totalVideoFrames: number } };
  type Doc = { querySelector(s: string): Video | null };
  return page.evaluate((selector) => {
    const video = (globalThis as unknown as { document: Doc }).document.querySelector(`${selector} video`);
    return video ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
  }, container);
}

export const demoPage = (restUrl: string, page: 'two_way_streaming' | 'player'): string =>
  `${restUrl}/demo/examples/demo/streaming/${page}/${page}.html`;
