import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { waitFor } from './media-server.js';
import type { Netns } from './netns.js';

/**
 * Debian's Chromium, headless, with a fake camera and loopback ICE allowed. `secureOrigins`: http origins on
 * other addresses than loopback that may still use the camera (what a page needs from getUserMedia).
 * `netns`: run it inside that network namespace (through a wrapper that `ip netns exec`s it; Playwright
 * still drives it over its pipes).
 */
export async function launchBrowser(secureOrigins: string[] = [], netns?: Netns): Promise<Browser> {
  const chromiumBin = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
  if (!netns) return launch(chromiumBin, secureOrigins);
  const dir = await mkdtemp(join(tmpdir(), 'streamfed-chromium-'));
  try {
    const wrapper = join(dir, 'chromium');
    const [cmd, args] = netns.command(chromiumBin, []);
    await writeFile(wrapper, `#!/bin/sh\nexec ${[cmd, ...args].join(' ')} "$@"\n`);
    await chmod(wrapper, 0o755);
    return await launch(wrapper, secureOrigins);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function launch(executablePath: string, secureOrigins: string[]): Promise<Browser> {
  return chromium.launch({
    executablePath,
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
      ...(secureOrigins.length
        ? [`--unsafely-treat-insecure-origin-as-secure=${secureOrigins.join(',')}`]
        : []),
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

/** A video in a page: the demo pages of websdk-page.ts. */
export interface DecodingVideo {
  framesDecoded(): Promise<number>;
}

/**
 * Waits for the video's first decoded frames, then for 10 more: it keeps decoding (it did not show a frame
 * and freeze). `where` names the video in a timeout's message; each of the two waits has `timeoutMs`.
 */
export async function framesKeepDecoding(
  video: DecodingVideo,
  where: string,
  timeoutMs = 15_000,
): Promise<void> {
  const first = await waitFor(() => video.framesDecoded(), `first decoded frames ${where}`, timeoutMs);
  await waitFor(
    async () => (await video.framesDecoded()) > first + 10,
    `frames to keep decoding ${where}`,
    timeoutMs,
  );
}

export const demoPage = (
  restUrl: string,
  page: 'two_way_streaming' | 'player' | 'stream-auto-restore',
): string => `${restUrl}/demo/examples/demo/streaming/${page}/${page}.html`;
