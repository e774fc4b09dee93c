import { WhepPlayer } from './whep.js';

/**
 * The streamfed console: polls the fleet's view (GET /rest-api/console/state, see src/contracts/console-api.ts)
 * every REFRESH_MS and renders four views. Everything the server says goes into the page as text, never HTML.
 */
const REFRESH_MS = 2000;
/** Points kept per sparkline. */
const HISTORY = 30;
const CREDENTIALS_KEY = 'streamfed-console-auth';

const $ = (selector) => document.querySelector(selector);

/** A DOM element with attributes and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    element.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return element;
}

const svg = (tag, attributes) => {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
};

// ---- formatting ----------------------------------------------------------------------------------------

function bits(bps) {
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mb/s`;
  if (bps >= 1e3) return `${Math.round(bps / 1e3)} kb/s`;
  return `${Math.round(bps)} b/s`;
}
function bytes(n) {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} KiB`;
  return `${n} B`;
}
function age(since, now) {
  const s = Math.max(0, Math.round((now - since) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** A small line chart of the last values, scaled to their maximum, beside the current value. */
function sparkline(values, label, kind = '') {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? 72 / (values.length - 1) : 0;
  const points = values
    .map((v, i) => `${(i * step).toFixed(1)},${(19 - (v / max) * 18).toFixed(1)}`)
    .join(' ');
  const chart = svg('svg', { viewBox: '0 0 72 20', 'aria-hidden': 'true', focusable: 'false' });
  chart.append(svg('polyline', { points }));
  return h('span', { class: `spark ${kind}` }, chart, h('span', {}, label));
}

// ---- state ---------------------------------------------------------------------------------------------

const state = {
  /** @type {any} the last ConsoleState */
  view: undefined,
  /** sparkline histories by `${member}/${name}` */
  history: new Map(),
  selected: undefined,
  authorization: sessionStorage.getItem(CREDENTIALS_KEY) ?? undefined,
  timer: undefined,
  player: undefined,
};

async function api(path, options = {}) {
  const headers = { ...(options.headers ?? {}) };
  if (state.authorization) headers.authorization = state.authorization;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    showSignIn(state.authorization ? 'Those credentials were refused.' : '');
    throw new Error('unauthorized');
  }
  return response;
}

/** Every member's view, with its member id, the page's own server first. */
function memberStates(view) {
  const others = view.members.filter((m) => m.state).map((m) => m.state);
  return [view.self, ...others];
}

/** One row per stream of the fleet: the origin's view, with the members it is relayed to and their players. */
function fleetStreams(view) {
  const rows = new Map();
  const relayedTo = new Map();
  const players = new Map();
  for (const member of memberStates(view)) {
    for (const s of member.streams) {
      const key = `${s.originMemberId}/${s.name}`;
      const counts = players.get(key) ?? new Map();
      counts.set(member.memberId, s.players);
      players.set(key, counts);
      if (s.origin === 'local') rows.set(key, { ...s, at: member.memberId });
      else {
        relayedTo.set(key, [...(relayedTo.get(key) ?? []), member.memberId]);
        if (!rows.has(key)) rows.set(key, { ...s, at: member.memberId, originUnseen: true });
      }
    }
  }
  return [...rows.entries()].map(([key, s]) => ({
    key,
    ...s,
    relayedTo: relayedTo.get(key) ?? [],
    playersByMember: players.get(key) ?? new Map(),
  }));
}

function remember(key, bitrate, lost) {
  const entry = state.history.get(key) ?? { bitrate: [], lost: [], lastLost: lost };
  entry.bitrate.push(bitrate);
  entry.lost.push(Math.max(0, lost - entry.lastLost));
  entry.lastLost = lost;
  if (entry.bitrate.length > HISTORY) entry.bitrate.shift();
  if (entry.lost.length > HISTORY) entry.lost.shift();
  entry.seen = true;
  state.history.set(key, entry);
  return entry;
}

// ---- views ---------------------------------------------------------------------------------------------

function renderSummary(view) {
  const members = view.members.length + 1;
  const up = view.members.filter((m) => m.up).length + 1;
  const streams = fleetStreams(view).length;
  const pushes = memberStates(view).reduce((n, m) => n + m.pushes.length, 0);
  $('#summary').textContent =
    `${view.self.memberId} · ${up}/${members} members up · ${streams} streams · ${pushes} pushes and pulls`;
}

/** `fresh`: a new reading, which adds a point to every sparkline (a filter change only redraws). */
function renderStreams(view, fresh = false) {
  const filter = $('#filter').value.trim().toLowerCase();
  const body = $('#streams tbody');
  const now = Date.now();
  if (fresh) for (const entry of state.history.values()) entry.seen = false;
  const streams = fleetStreams(view).sort((a, b) => a.name.localeCompare(b.name));
  const rows = [];
  for (const s of streams) {
    const history = fresh
      ? remember(s.key, s.audioBitrate + s.videoBitrate, s.packetsLost)
      : (state.history.get(s.key) ?? { bitrate: [], lost: [] });
    const media = [
      s.hasVideo ? `video ${s.videoCodec ?? ''}` : '',
      s.hasAudio ? `audio ${s.audioCodec ?? ''}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const haystack =
      `${s.name} ${s.originMemberId} ${s.relayedTo.join(' ')} ${media} ${s.mediaProvider}`.toLowerCase();
    if (filter && !haystack.includes(filter)) continue;
    const playerText =
      [...s.playersByMember.entries()]
        .filter(([, n]) => n > 0)
        .map(([member, n]) => `${member}: ${n}`)
        .join(', ') || '0';
    const flowing = s.flowing;
    rows.push(
      h(
        'tr',
        {
          'data-stream': s.name,
          'data-origin': s.originMemberId,
          class: `${flowing ? '' : 'no-media'} ${state.selected === s.name ? 'selected' : ''}`,
          tabindex: 0,
          'aria-label': `${s.name}, origin ${s.originMemberId}${flowing ? '' : ', no media flowing'}`,
          onclick: () => select(s.name),
          onkeydown: (event) => {
            if (event.key === 'Enter' || event.key === ' ') {
              event.preventDefault();
              select(s.name);
            }
          },
        },
        h('td', {}, s.name),
        h('td', { class: 'origin' }, s.originMemberId),
        h('td', {}, s.relayedTo.join(', ') || '—'),
        h('td', {}, `${media} (${s.mediaProvider})`),
        h('td', {}, s.hasVideo && s.width ? `${s.width}×${s.height}` : '—'),
        h('td', {}, sparkline(history.bitrate, bits(s.audioBitrate + s.videoBitrate))),
        h('td', {}, sparkline(history.lost, String(s.packetsLost), 'loss')),
        h('td', {}, playerText),
        h('td', {}, age(s.createdAt, now)),
      ),
    );
  }
  if (fresh) for (const [key, entry] of state.history) if (!entry.seen) state.history.delete(key);
  body.replaceChildren(...rows);
  $('#stream-count').textContent = `${rows.length} of ${streams.length} streams`;
  $('#stream-names').replaceChildren(...view.self.streams.map((s) => h('option', { value: s.name })));
}

function renderPushes(view) {
  const now = Date.now();
  const rows = [];
  for (const member of memberStates(view)) {
    // read-only credentials: the server would refuse a terminate (403 STREAMFED_ERR_READ_ONLY), so none is offered
    const own = member === view.self && view.access === 'write';
    for (const p of member.pushes) {
      rows.push(
        h(
          'tr',
          { 'data-push': p.localMediaSessionId, 'data-stream': p.localStreamName },
          h(
            'td',
            {},
            p.type === 'push'
              ? `${p.localStreamName} → ${p.remoteStreamName}`
              : `${p.remoteStreamName} → ${p.localStreamName}`,
          ),
          h('td', {}, member.memberId),
          h('td', {}, `${p.type} (${p.protocol})`),
          h('td', {}, p.uri),
          h('td', { class: `status status-${p.status}` }, p.status),
          h('td', { class: `delivery status-${p.delivery.status}` }, p.delivery.status),
          h('td', { class: 'failure' }, p.code ? `${p.code}: ${p.info ?? ''}` : (p.info ?? '')),
          h('td', { class: 'owner' }, p.owner ?? ''),
          h('td', {}, p.packets),
          h('td', {}, bytes(p.bytes)),
          h('td', {}, age(p.createDate, now)),
          h(
            'td',
            {},
            own
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'danger small',
                    'aria-label': `Terminate ${p.type} of ${p.localStreamName} to ${p.uri}`,
                    onclick: () => terminate(p),
                  },
                  'Terminate',
                )
              : h('span', { class: 'muted' }, `on ${member.memberId}`),
          ),
        ),
      );
    }
  }
  $('#pushes tbody').replaceChildren(
    ...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 12, class: 'muted' }, 'No pushes or pulls.'))]),
  );
}

function renderFleet(view) {
  const card = (title, up, member, error) => {
    const facts = [];
    const fact = (name, value) => facts.push(h('dt', {}, name), h('dd', {}, value));
    fact('State', h('span', { class: up ? 'up' : 'down' }, up ? 'up' : 'down'));
    if (member) {
      const local = member.streams.filter((s) => s.origin === 'local').map((s) => s.name);
      fact('Streams', local.length ? local.join(', ') : 'none published here');
      fact('Relayed here', String(member.streams.filter((s) => s.origin === 'relayed').length));
      fact('Sessions', String(member.sessions));
      fact('Process', `CPU ${member.process.cpuPercent}% · ${bytes(member.process.rssBytes)} RSS`);
      for (const w of member.workers)
        fact(`Worker ${w.pid}`, `CPU ${w.cpuPercent}% · ${bytes(w.rssBytes)} RSS`);
      fact(
        'Hooks',
        member.hooks
          ? `${member.hooks.url} · ${member.hooks.lastResult ?? 'not called yet'}${member.hooks.lastReason ? ` (${member.hooks.lastReason})` : ''}`
          : 'none configured',
      );
      fact('Up for', age(member.startedAt, member.at));
    }
    if (error) fact('Error', h('span', { class: 'error' }, error));
    return h('article', { class: 'member', 'data-member': title }, h('h3', {}, title), h('dl', {}, facts));
  };
  $('#members').replaceChildren(
    card(`${view.self.memberId} (this server)`, true, view.self),
    ...view.members.map((m) => card(m.memberId ?? m.restUrl, m.up, m.state, m.error)),
  );
}

// ---- preview -------------------------------------------------------------------------------------------

function addresses(name) {
  const page = new URL(location.href);
  const http = `${page.protocol}//${page.host}`;
  const wsHost = page.hostname.includes(':') ? `[${page.hostname}]` : page.hostname;
  const ws = `${page.protocol === 'https:' ? 'wss' : 'ws'}://${wsHost}:${state.view?.wsPort ?? 8080}`;
  const path = encodeURIComponent(name);
  return [
    ['SDK WebSocket URL', ws],
    ['Stream name', name],
    ['WHIP (publish)', `${http}/whip/${path}`],
    ['WHEP (play)', `${http}/whep/${path}`],
    [
      'Embed (Web SDK)',
      `<div id="player" style="width:640px;height:360px"></div>\n<script src="${http}/demo/flashphoner.js"></script>\n<script>\nFlashphoner.init({});\nFlashphoner.createSession({urlServer: "${ws}"}).on(Flashphoner.constants.SESSION_STATUS.ESTABLISHED, (s) =>\n  s.createStream({name: ${JSON.stringify(name)}, display: document.getElementById("player")}).play());\n</script>`,
    ],
    [
      'Push it elsewhere (curl)',
      `curl -X POST ${http}/rest-api/pull/push -H 'Content-Type: application/json'${state.authorization ? " -H 'Authorization: …'" : ''} \\\n  -d '${JSON.stringify({ uri: 'ws://other-server:8080/', localStreamName: name, remoteStreamName: name })}'`,
    ],
  ];
}

function renderAddresses(name) {
  const items = [];
  for (const [label, value] of addresses(name)) {
    const code = h('code', {}, value);
    items.push(
      h('dt', {}, label),
      h(
        'dd',
        {},
        code,
        h(
          'button',
          {
            type: 'button',
            class: 'small',
            'aria-label': `Copy ${label}`,
            onclick: (event) => {
              navigator.clipboard?.writeText(value).then(
                () => (event.target.textContent = 'Copied'),
                () => window.getSelection()?.selectAllChildren(code),
              );
            },
          },
          'Copy',
        ),
      ),
    );
  }
  $('#addresses').replaceChildren(...items);
}

async function select(name) {
  state.selected = name;
  showView('preview');
  $('#preview-title').textContent = name;
  renderAddresses(name);
  await stopPreview();
  const video = $('#preview-video');
  const status = $('#preview-status');
  status.textContent = 'connecting over WHEP…';
  const player = new WhepPlayer(state.authorization ? { authorization: state.authorization } : {});
  state.player = player;
  $('#preview-stop').disabled = false;
  try {
    await player.play(`/whep/${encodeURIComponent(name)}`, video);
    status.textContent = 'playing over WHEP';
  } catch (error) {
    if (state.player === player) status.textContent = `preview refused: ${error.message}`;
    status.classList.add('error');
  }
}

async function stopPreview() {
  const player = state.player;
  state.player = undefined;
  $('#preview-status').classList.remove('error');
  $('#preview-stop').disabled = true;
  const video = $('#preview-video');
  video.srcObject = null;
  if (player) await player.stop();
}

// ---- pushes --------------------------------------------------------------------------------------------

/** A refusal as the server sent it: its code and message. */
async function refusal(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    return `${body.code ?? response.status}: ${body.message ?? text}`;
  } catch {
    return `${response.status}: ${text}`;
  }
}

function showResult(text, failed) {
  const result = $('#push-result');
  result.textContent = text;
  result.className = failed ? 'error' : 'up';
}

async function startPush(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = {
    uri: String(form.get('uri')).trim(),
    localStreamName: String(form.get('localStreamName')).trim(),
  };
  const remote = String(form.get('remoteStreamName') ?? '').trim();
  if (remote) body.remoteStreamName = remote;
  const custom = String(form.get('custom') ?? '').trim();
  if (custom) {
    try {
      body.custom = JSON.parse(custom);
    } catch (error) {
      return showResult(`custom is not JSON: ${error.message}`, true);
    }
  }
  showResult(`pushing ${body.localStreamName} to ${body.uri}…`, false);
  try {
    const response = await api('/rest-api/pull/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) return showResult(`refused: ${await refusal(response)}`, true);
    const push = await response.json();
    showResult(`${push.localStreamName} → ${push.uri}: ${push.status}`, false);
  } catch (error) {
    if (error.message !== 'unauthorized') showResult(`failed: ${error.message}`, true);
  }
  void refresh();
}

async function terminate(push) {
  try {
    const response = await api('/rest-api/pull/terminate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ localMediaSessionId: push.localMediaSessionId }),
    });
    showResult(
      response.ok
        ? `terminated ${push.localStreamName} → ${push.uri}`
        : `refused: ${await refusal(response)}`,
      !response.ok,
    );
  } catch (error) {
    if (error.message !== 'unauthorized') showResult(`failed: ${error.message}`, true);
  }
  void refresh();
}

// ---- navigation, sign-in, refresh ----------------------------------------------------------------------

const views = ['streams', 'preview', 'pushes', 'fleet'];

function showView(name) {
  for (const view of views) {
    const selected = view === name;
    const tab = $(`#tab-${view}`);
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#view-${view}`).hidden = !selected;
  }
}

function setUpTabs() {
  views.forEach((view, i) => {
    const tab = $(`#tab-${view}`);
    tab.addEventListener('click', () => showView(view));
    tab.addEventListener('keydown', (event) => {
      const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = views[(i + step + views.length) % views.length];
      showView(next);
      $(`#tab-${next}`).focus();
    });
  });
}

function showSignIn(message) {
  clearTimeout(state.timer);
  state.view = undefined;
  $('#signin').hidden = false;
  for (const view of views) $(`#view-${view}`).hidden = true;
  $('#summary').textContent = 'sign in to see this server';
  $('#signin-error').textContent = message;
  $('#signin-token').focus();
}

function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const token = String(form.get('token') ?? '').trim();
  const user = String(form.get('user') ?? '');
  const password = String(form.get('password') ?? '');
  state.authorization = token
    ? `Bearer ${token}`
    : `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)))}`;
  sessionStorage.setItem(CREDENTIALS_KEY, state.authorization);
  $('#signin').hidden = true;
  showView('streams');
  void refresh();
}

async function refresh() {
  clearTimeout(state.timer);
  try {
    const response = await api('/rest-api/console/state');
    if (!response.ok) throw new Error(await refusal(response));
    const view = await response.json();
    state.view = view;
    $('#push-form').hidden = view.access !== 'write';
    renderSummary(view);
    renderStreams(view, true);
    renderPushes(view);
    renderFleet(view);
  } catch (error) {
    if (error.message === 'unauthorized') return;
    $('#summary').textContent = `server not answering: ${error.message}`;
  }
  state.timer = setTimeout(refresh, REFRESH_MS);
}

setUpTabs();
$('#filter').addEventListener('input', () => state.view && renderStreams(state.view));
$('#push-form').addEventListener('submit', startPush);
$('#signin-form').addEventListener('submit', signIn);
$('#preview-stop').addEventListener('click', () => void stopPreview());
void refresh();
