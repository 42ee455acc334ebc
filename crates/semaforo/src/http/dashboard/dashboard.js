// semaforo's dashboard: reads /api/status twice a second, the high-resolution events live
// from /api/events/stream, and each working camera's annotated picture once a second. With
// http.token set, the first 401 asks for the token, kept for this tab only.
'use strict';

const STATUS_EVERY_MS = 500;
const PICTURE_EVERY_MS = 1000;
const EVENTS_SHOWN = 60;
const TOKEN_KEY = 'semaforo-token';

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  needToken: false,
  lastSeq: null,
  cameras: new Map(), // name -> { figure, img, caption, url, busy, working }
  groupCards: new Map(),
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class NeedToken extends Error {}

async function api(path) {
  if (state.needToken) throw new NeedToken();
  const headers = state.token ? { Authorization: 'Bearer ' + state.token } : {};
  const response = await fetch(path, { headers, cache: 'no-store' });
  if (response.status === 401) {
    askForToken();
    throw new NeedToken();
  }
  return response;
}

function askForToken() {
  state.needToken = true;
  $('login').hidden = false;
  $('token').focus();
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  state.needToken = false;
  $('login').hidden = true;
  startEvents();
});

// --- the intersection ---

function renderGroups(s) {
  const box = $('groups');
  for (const g of s.groups) {
    let card = state.groupCards.get(g.name);
    if (!card) {
      const root = el('div', { class: 'group', 'data-group': g.name });
      const head = el('div', { class: 'head' });
      for (const colour of ['red', 'yellow', 'green']) head.append(el('span', { class: 'lamp ' + colour }));
      card = {
        root,
        name: el('div', { class: 'name' }, g.name),
        count: el('div', { class: 'count' }),
        note: el('div', { class: 'note' }),
      };
      root.append(head, card.name, card.count, card.note);
      box.append(root);
      state.groupCards.set(g.name, card);
    }
    card.root.dataset.head = g.head;
    card.root.title = `${g.name}: ${g.head}, ${g.greens} greens`;
    if (g.count === null) {
      card.count.textContent = 'no count';
      card.count.className = 'count none';
    } else {
      card.count.textContent = String(g.count);
      card.count.className = 'count';
    }
    const notes = [];
    if (g.on_recall) notes.push('on recall');
    if (g.wait_s >= 1) notes.push(`waiting ${Math.round(g.wait_s)} s`);
    if (!notes.length) notes.push(g.count === null ? '' : 'vehicles');
    card.note.textContent = notes.join(', ');
  }
  const phases = $('phases');
  phases.replaceChildren(
    ...s.phases.map((p) => {
      let cls = 'phase';
      if (p.name === s.phase) cls += ' active';
      else if (p.name === s.next_phase) cls += ' next';
      return el('span', { class: cls, title: p.groups.join(', ') }, p.name);
    }),
  );
}

function renderHeader(s) {
  $('intersection').textContent = s.intersection;
  document.title = `${s.intersection} · semaforo`;
  const mode = $('mode');
  mode.textContent = s.mode + (s.stopping ? ' (stopping)' : '');
  mode.className = 'badge ' + s.mode;
  $('phase').textContent = s.phase ? `phase ${s.phase}` : 'no phase';
  $('interval').textContent = `${s.interval} ${s.interval_s.toFixed(1)} s · ${s.policy}`;
  const health = $('health');
  health.textContent = 'health: ' + s.health.status;
  health.className = 'badge ' + s.health.status;
  const r = s.resources;
  const link = s.links
    .map((l) => ` · ${l.name} ${l.connected ? 'connected' : 'away'}, ${l.delivered} delivered, ${l.waiting} waiting`)
    .join('');
  $('footer').textContent =
    `semaforo ${s.version} · tick ${s.tick} · up ${formatDuration(s.uptime_s)}` +
    `${s.simulated ? ' (simulated time)' : ''} · ${r.rss_mb.toFixed(1)} MB, ${r.open_fds} open files` +
    ` · longest wait ${Math.round(s.max_wait_s)} s${link}`;
}

function formatDuration(seconds) {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
}

// --- the timeline: one row per group, the last ten minutes, green and yellow bars ---

function renderTimeline(s) {
  const t = s.timeline;
  const rows = s.groups.length;
  const label = 90;
  const width = 900;
  const row = 18;
  const top = 16;
  const height = top + rows * row + 4;
  const node = $('timeline');
  node.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const span = t.window_s > 0 ? t.window_s : 600;
  const start = s.uptime_s - span;
  const x = (at) => label + ((Math.max(at, start) - start) / span) * (width - label);
  const parts = [];
  for (let minute = 0; minute <= span / 60; minute++) {
    const at = start + minute * 60;
    parts.push(svg('line', { class: 'grid', x1: x(at), x2: x(at), y1: top - 4, y2: height }));
    const ago = span / 60 - minute;
    const anchor = ago ? 'middle' : 'end';
    parts.push(svg('text', { x: x(at), y: 11, 'text-anchor': anchor }, ago ? `-${ago}m` : 'now'));
  }
  s.groups.forEach((g, i) => {
    const y = top + i * row;
    parts.push(svg('text', { x: 0, y: y + 13 }, g.name));
    for (const seg of t.groups[i] || []) {
      const to = seg.to_s === null ? s.uptime_s : seg.to_s;
      if (to < start) continue;
      const x1 = x(seg.from_s);
      parts.push(svg('rect', { class: seg.head, x: x1, y: y + 3, width: Math.max(x(to) - x1, 1), height: row - 6 }));
    }
  });
  node.replaceChildren(...parts);
}

// --- cameras ---

function renderCameras(s) {
  const box = $('cameras');
  for (const c of s.cameras) {
    let cam = state.cameras.get(c.name);
    if (!cam) {
      const figure = el('figure', { class: 'camera', 'data-camera': c.name });
      const img = el('img', { alt: `camera ${c.name}` });
      const caption = el('figcaption');
      figure.append(img, caption);
      box.append(figure);
      cam = { figure, img, caption, url: null, busy: false, next: 0 };
      state.cameras.set(c.name, cam);
    }
    cam.working = c.last_frame_age_s !== null;
    const rate = `${c.fps_read.toFixed(1)} fps read, ${c.fps_analysed.toFixed(1)} analysed`;
    const runs = c.network_rate_hz === null ? '' : ` ${c.network_rate_hz.toFixed(1)}/s`;
    const detector = c.detector ? `${c.detector}${runs} ${c.latency_ms === null ? '' : c.latency_ms.toFixed(1) + ' ms'}` : 'no detector';
    cam.caption.replaceChildren(
      el('b', {}, c.name),
      document.createTextNode(` · ${c.groups.join(', ')} · ${c.working ? rate : 'not working'} · ${detector}`),
    );
    refreshPicture(c.name, cam);
  }
}

async function refreshPicture(name, cam) {
  // Only a camera that has given frames has a picture: asking another would be a 503.
  if (!cam.working || cam.busy || Date.now() < cam.next) return;
  cam.busy = true;
  try {
    const response = await api(`/api/cameras/${encodeURIComponent(name)}/snapshot.jpg`);
    if (response.ok) {
      const url = URL.createObjectURL(await response.blob());
      cam.img.src = url;
      if (cam.url) URL.revokeObjectURL(cam.url);
      cam.url = url;
    }
  } catch (e) {
    if (!(e instanceof NeedToken)) console.warn(`camera ${name}: ${e}`);
  } finally {
    cam.busy = false;
    cam.next = Date.now() + PICTURE_EVERY_MS;
  }
}

// --- health ---

function renderHealth(s) {
  $('checks').replaceChildren(
    ...s.health.checks.map((c) => {
      const li = el('li');
      li.append(el('span', { class: 'state ' + c.state }, c.state), el('span', {}, `${c.name}: ${c.detail}`));
      for (const action of c.actions || []) li.append(el('span', { class: 'action' }, `acting: ${action}`));
      return li;
    }),
  );
}

// --- events ---

function addEvent(e) {
  if (state.lastSeq !== null && e.seq <= state.lastSeq) return;
  state.lastSeq = e.seq;
  const list = $('events');
  const li = el('li', { 'data-seq': String(e.seq) });
  const time = (e.time || '').split(' ')[1] || '';
  const what = (e.name || `event ${e.code}`) + (e.group ? ` · ${e.group}` : ` (${e.parameter})`);
  li.append(el('time', {}, time), el('span', {}, what));
  list.prepend(li);
  while (list.children.length > EVENTS_SHOWN) list.lastChild.remove();
}

async function streamEvents() {
  for (;;) {
    try {
      if (state.lastSeq === null) {
        const recent = await (await api(`/api/events?limit=${EVENTS_SHOWN}`)).json();
        recent.events.forEach(addEvent);
        if (state.lastSeq === null && recent.total > 0) state.lastSeq = recent.total - 1;
      }
      const after = state.lastSeq === null ? '' : `?after=${state.lastSeq}`;
      const response = await api('/api/events/stream' + after);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('');
          if (!data) continue;
          const message = JSON.parse(data);
          if (typeof message.seq === 'number') addEvent(message);
        }
      }
    } catch (e) {
      if (e instanceof NeedToken) return;
    }
    await sleep(2000);
  }
}

let eventsRunning = false;
function startEvents() {
  if (eventsRunning) return;
  eventsRunning = true;
  streamEvents().finally(() => {
    eventsRunning = false;
  });
}

// --- the loop ---

async function poll() {
  for (;;) {
    if (!state.needToken) {
      try {
        const s = await (await api('/api/status')).json();
        renderHeader(s);
        renderGroups(s);
        renderTimeline(s);
        renderCameras(s);
        renderHealth(s);
        document.body.dataset.tick = String(s.tick);
      } catch (e) {
        if (!(e instanceof NeedToken)) {
          $('mode').textContent = 'no connection';
          $('mode').className = 'badge failing';
        }
      }
    }
    await sleep(STATUS_EVERY_MS);
  }
}

poll();
startEvents();
