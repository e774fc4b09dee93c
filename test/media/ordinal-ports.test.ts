import { describe, expect, it } from 'vitest';
import { spawnMedia } from '../support/media-process.js';
import { streamfed as cli } from '../support/tools.js';

describe('several media pods per host: ports from the StatefulSet ordinal, and the probe command', () => {
  it('pod N listens on each port + N × stride; `streamfed probe` asks that port, and fails where nothing answers', async () => {
    const media = await spawnMedia(['--ordinal-port-stride', '7'], { POD_NAME: 'streamfed-media-2' });
    try {
      const base = Number(new URL(media.restUrl).port);
      const ws = Number(new URL(media.wsUrl).port);
      expect(media.output()).toContain(`"wsPort":${ws + 14},"restPort":${base + 14}`);
      expect((await fetch(`http://127.0.0.1:${base + 14}/readyz`)).status).toBe(200);

      // (the pod's whole media environment, as in the chart: its RTC range moves with the ordinal too)
      const probeArgs = [
        'probe',
        '--listen-ip',
        '127.0.0.1',
        '--rest-port',
        String(base),
        '--rtc-min-port',
        '40000',
        '--rtc-max-port',
        '40099',
      ];
      const env = { STREAMFED_ORDINAL_PORT_STRIDE: '7' };
      const ok = await cli([...probeArgs, '--path', '/healthz'], { ...env, POD_NAME: 'streamfed-media-2' });
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toBe(`http://127.0.0.1:${base + 14}/healthz: 200\n`);
      const missing = await cli([...probeArgs, '--path', '/no-such-path'], {
        ...env,
        POD_NAME: 'streamfed-media-2',
      });
      expect(missing.code).toBe(1);
      expect(missing.stdout).toMatch(/: 404\n$/);
      const nobody = await cli(probeArgs, { ...env, POD_NAME: 'streamfed-media-9' });
      expect(nobody.code).toBe(1);
      expect(nobody.stdout).toContain(`http://127.0.0.1:${base + 63}/readyz: connect ECONNREFUSED`);
    } finally {
      await media.stop();
    }
  });

  it('refuses a stride without an ordinal in the pod name, and ports past 65535, as usage errors', async () => {
    const noName = await cli(['media', '--ordinal-port-stride', '10'], { POD_NAME: '' });
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(
      /--ordinal-port-stride needs --pod-name \(env POD_NAME\) ending in -<ordinal>/,
    );
    const notOrdinal = await cli(['probe', '--ordinal-port-stride', '10', '--pod-name', 'media-abc']);
    expect(notOrdinal.code).toBe(2);
    expect(notOrdinal.stderr).toContain('got "media-abc"');
    const past = await cli(['media', '--ordinal-port-stride', '1000', '--pod-name', 'm-70']);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/pod ordinal 70 puts the \w+ port past 65535/);
  });
});
