import type { Dashboard, Panel } from '@grafana/schema';

/**
 * The Grafana dashboard, typed against @grafana/schema. charts/streamfed/files/grafana-dashboard.json is
 * rendered from it (`npm run render`); test/packaging checks the two agree and test/observability checks
 * every query against Prometheus and the metrics the code exports.
 */
const datasource = { type: 'prometheus', uid: '${datasource}' };

function timeseries(
  id: number,
  title: string,
  queries: [expr: string, legend: string][],
  gridPos: { x: number; y: number },
  unit = 'short',
): Panel {
  return {
    id,
    type: 'timeseries',
    title,
    gridPos: { ...gridPos, w: 12, h: 8 },
    datasource,
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'none' },
    },
    targets: queries.map(([expr, legendFormat], i) => ({
      refId: String.fromCharCode(65 + i),
      expr,
      legendFormat,
      datasource,
    })),
  };
}

const quantiles = (metric: string): [string, string][] =>
  [0.5, 0.95].map((q) => [
    `histogram_quantile(${q}, sum by (le) (rate(${metric}_bucket[5m])))`,
    `p${q * 100}`,
  ]);

export const dashboard: Dashboard = {
  title: 'streamfed',
  uid: 'streamfed',
  schemaVersion: 39,
  version: 1,
  editable: true,
  tags: ['streamfed', 'webrtc'],
  time: { from: 'now-1h', to: 'now' },
  refresh: '30s',
  templating: {
    list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }],
  },
  annotations: { list: [] },
  panels: [
    timeseries(
      1,
      'Streams',
      [
        ['sum(streamfed_streams_published)', 'published'],
        ['sum(streamfed_streams_played)', 'played'],
        ['sum(streamfed_ws_sessions)', 'WebSocket sessions'],
      ],
      { x: 0, y: 0 },
    ),
    timeseries(2, 'Pushes by status', [['sum by (status) (streamfed_pushes)', '{{status}}']], {
      x: 12,
      y: 0,
    }),
    timeseries(
      3,
      'Incoming bitrate per stream',
      [['sum by (stream) (streamfed_stream_bitrate_bps)', '{{stream}}']],
      { x: 0, y: 8 },
      'bps',
    ),
    timeseries(
      4,
      'RTP throughput',
      [
        ['sum by (direction) (rate(streamfed_rtp_bytes_total[1m])) * 8', '{{direction}}'],
        ['sum(rate(streamfed_push_bytes_total[1m])) * 8', 'forwarded by pushes'],
      ],
      { x: 12, y: 8 },
      'bps',
    ),
    timeseries(
      5,
      'Packet loss',
      [
        [
          'sum by (direction) (rate(streamfed_rtp_packets_lost_total[5m])) / clamp_min(sum by (direction) (rate(streamfed_rtp_packets_total[5m])), 1)',
          '{{direction}}',
        ],
      ],
      { x: 0, y: 16 },
      'percentunit',
    ),
    timeseries(
      6,
      'Push setup time (REST call to remote PUBLISHING)',
      quantiles('streamfed_push_setup_seconds'),
      { x: 12, y: 16 },
      's',
    ),
    timeseries(
      7,
      'Errors and push failures',
      [
        ['sum by (kind) (rate(streamfed_errors_total[5m]))', '{{kind}}'],
        ['sum by (reason) (rate(streamfed_push_failures_total[5m]))', 'push failed: {{reason}}'],
      ],
      { x: 0, y: 24 },
    ),
    timeseries(
      8,
      'Reconciles by result',
      [['sum by (result) (rate(streamfed_operator_reconciles_total[5m]))', '{{result}}']],
      { x: 12, y: 24 },
      'ops',
    ),
    timeseries(
      9,
      'Reconcile latency',
      quantiles('streamfed_operator_reconcile_duration_seconds'),
      { x: 0, y: 32 },
      's',
    ),
    timeseries(
      10,
      'StreamPushes desired vs active, queue depth',
      [
        ['max(streamfed_operator_pushes_desired)', 'desired'],
        ['max(streamfed_operator_pushes_active)', 'active'],
        ['max(streamfed_operator_queue_depth)', 'queue depth'],
      ],
      { x: 12, y: 32 },
    ),
    timeseries(
      11,
      'Fleet: members up, relays by state',
      [
        ['sum by (instance) (streamfed_fleet_members{state="up"})', 'members up seen by {{instance}}'],
        ['sum by (state) (streamfed_fleet_relays)', 'relays {{state}}'],
        ['sum(streamfed_fleet_relays_served)', 'relays served by origins'],
        ['sum by (code) (rate(streamfed_fleet_relay_failures_total[5m]))', 'failed: {{code}}'],
      ],
      { x: 0, y: 40 },
    ),
    timeseries(
      12,
      'Fleet relay setup time (play on a member to relay live)',
      quantiles('streamfed_fleet_relay_setup_seconds'),
      { x: 12, y: 40 },
      's',
    ),
    timeseries(
      13,
      'Fleet relayed throughput and packets lost',
      [
        ['sum by (direction) (rate(streamfed_fleet_relayed_bytes_total[1m])) * 8', '{{direction}} (bps)'],
        ['sum(rate(streamfed_fleet_relayed_packets_lost_total[5m]))', 'packets lost/s'],
      ],
      { x: 0, y: 48 },
    ),
  ],
};
