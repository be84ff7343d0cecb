/*
 * chotctl serve's page (DESIGN §10): counters every second, the alerts feed
 * over server-sent events, commune levels, a trace with its timeline and
 * Go.Data download, the site registry; English and Vietnamese.
 *
 * Every value from the server reaches the page through textContent or an
 * SVG attribute set with setAttribute, never innerHTML: a site called
 * "<script>..." is shown as those characters.  Every POST carries the
 * session's CSRF token (X-CSRF-Token); the session cookie itself is
 * HttpOnly, so this script never sees it.
 */
'use strict';

const T = {
	en: {
		title: 'command centre', tab_overview: 'Overview', tab_alerts: 'Alerts', tab_zones: 'Zones',
		tab_trace: 'Trace', tab_sites: 'Sites', sign_out: 'Sign out',
		sign_in_title: 'Sign in with your Redis ACL user', user: 'User', password: 'Password',
		sign_in: 'Sign in', live_counters: 'Live counters', events_per_s: 'events stored/s',
		decoded_per_s: 'events decoded/s', updated: 'updated', counter: 'Counter', value: 'Value',
		per_s: 'per second', alerts_live: 'Alerts, live', time: 'Time', site: 'Site',
		reasons: 'Reasons', scheme: 'Scheme', device: 'Device', origin: 'Origin commune',
		zones_title: 'Commune levels', green: 'green', yellow: 'yellow', orange: 'orange', red: 'red',
		trace_title: 'Trace', subject: 'Subject', or_pid: 'or pid', days: 'Days', until: 'Until',
		depth: 'Depth', window: 'Window', min_overlap: 'Min. overlap', run_trace: 'Trace', godata: 'Go.Data CSV',
		overlap: 'Overlap (min)', first_contact: 'First contact', via: 'Via',
		sites_title: 'Site registry', name: 'Name', kind: 'Kind', commune: 'Commune',
		expired: 'Your session ended (idle timeout or signed out). Sign in again.',
		visits: 'Visits', contacts: 'contacts', no_visits: 'No visits in the window.',
		stream_open: 'Following the alerts stream.', stream_lost: 'Alerts stream lost; reconnecting…',
		set_level: 'set level', zone_saved: 'Saved.', signed_in_as: 'signed in as',
		working: 'Working…',
	},
	vi: {
		title: 'trung tâm chỉ huy', tab_overview: 'Tổng quan', tab_alerts: 'Cảnh báo',
		tab_zones: 'Vùng dịch', tab_trace: 'Truy vết', tab_sites: 'Địa điểm', sign_out: 'Đăng xuất',
		sign_in_title: 'Đăng nhập bằng tài khoản Redis ACL', user: 'Tài khoản', password: 'Mật khẩu',
		sign_in: 'Đăng nhập', live_counters: 'Bộ đếm trực tiếp', events_per_s: 'lượt lưu/giây',
		decoded_per_s: 'lượt giải mã/giây', updated: 'cập nhật', counter: 'Bộ đếm', value: 'Giá trị',
		per_s: 'mỗi giây', alerts_live: 'Cảnh báo trực tiếp', time: 'Thời gian', site: 'Địa điểm',
		reasons: 'Lý do', scheme: 'Loại giấy tờ', device: 'Thiết bị', origin: 'Xã/phường đi từ',
		zones_title: 'Cấp độ dịch theo xã/phường', green: 'xanh', yellow: 'vàng', orange: 'cam',
		red: 'đỏ', trace_title: 'Truy vết', subject: 'Đối tượng', or_pid: 'hoặc pid', days: 'Số ngày',
		until: 'Đến', depth: 'Mức', window: 'Khoảng đệm', min_overlap: 'Trùng lặp tối thiểu', run_trace: 'Truy vết',
		godata: 'Tải CSV Go.Data', overlap: 'Trùng lặp (phút)', first_contact: 'Tiếp xúc đầu',
		via: 'Qua', sites_title: 'Danh mục địa điểm', name: 'Tên', kind: 'Loại', commune: 'Xã/phường',
		expired: 'Phiên làm việc đã kết thúc (hết thời gian chờ hoặc đã đăng xuất). Hãy đăng nhập lại.',
		visits: 'Lịch sử di chuyển', contacts: 'tiếp xúc', no_visits: 'Không có lượt quét nào trong khoảng thời gian.',
		stream_open: 'Đang theo dõi luồng cảnh báo.', stream_lost: 'Mất luồng cảnh báo; đang kết nối lại…',
		set_level: 'đặt cấp độ', zone_saved: 'Đã lưu.', signed_in_as: 'đăng nhập:',
		working: 'Đang xử lý…',
	},
};
const LEVELS = [null, 'green', 'yellow', 'orange', 'red'];

const st = {
	lang: 'en', csrf: '', user: '', signedIn: false, timer: null, es: null, prev: null,
	sites: new Map(), alertKeys: new Set(), alerts: 0, trace: null, zonesWritable: true,
};

const $ = (id) => document.getElementById(id);
const t = (k) => (T[st.lang] && T[st.lang][k]) || T.en[k] || k;

function el(tag, text, cls) {
	const e = document.createElement(tag);
	if (text !== undefined && text !== null)
		e.textContent = String(text);
	if (cls)
		e.className = cls;
	return e;
}

function svg(tag, attrs, text) {
	const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
	for (const [k, v] of Object.entries(attrs || {}))
		e.setAttribute(k, String(v));
	if (text !== undefined)
		e.textContent = String(text);
	return e;
}

function fmtTime(ms) {
	if (ms === null || ms === undefined || ms === '')
		return '';
	return new Date(Number(ms)).toLocaleString(st.lang === 'vi' ? 'vi-VN' : 'en-GB');
}

function siteLabel(id) {
	const s = st.sites.get(Number(id));
	return s && s.name ? id + ' ' + s.name : String(id);
}

/* ---------------------------------------------------------------- language */

function applyLang(lang) {
	st.lang = lang === 'vi' ? 'vi' : 'en';
	document.documentElement.lang = st.lang;
	try { localStorage.setItem('chot.lang', st.lang); } catch (e) { /* private mode */ }
	for (const n of document.querySelectorAll('[data-i18n]'))
		n.textContent = t(n.dataset.i18n);
	$('lang-en').classList.toggle('active', st.lang === 'en');
	$('lang-vi').classList.toggle('active', st.lang === 'vi');
	$('user').textContent = st.signedIn ? t('signed_in_as') + ' ' + st.user : '';
	for (const c of document.querySelectorAll('#zones-grid .cell')) {
		c.querySelector('.level-name').textContent = t(LEVELS[Number(c.dataset.level)]);
		c.querySelectorAll('option').forEach((o) => { o.textContent = t(LEVELS[Number(o.value)]); });
	}
	if (st.signedIn) {
		if (st.trace)
			renderTrace(st.trace);
	}
}

/* ---------------------------------------------------------------- requests */

class HttpError extends Error {
	constructor(status, msg) { super(msg); this.status = status; }
}

async function api(path, form) {
	const opt = { credentials: 'same-origin', headers: {} };
	if (form) {
		opt.method = 'POST';
		opt.headers['X-CSRF-Token'] = st.csrf;
		opt.body = new URLSearchParams(form);
	}
	const r = await fetch(path, opt);
	if (r.status === 401 && st.signedIn && path !== '/api/login')
		expired();
	if (!r.ok) {
		let msg = r.statusText;
		try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
		throw new HttpError(r.status, msg);
	}
	return r;
}

/* ---------------------------------------------------------------- session */

function showLogin(message) {
	st.signedIn = false;
	$('app').hidden = true;
	$('tabs').hidden = true;
	$('logout').hidden = true;
	$('login').hidden = false;
	$('user').textContent = '';
	$('notice').hidden = !message;
	$('notice').textContent = message || '';
	document.body.dataset.state = 'login';
}

function stopLive() {
	if (st.timer)
		clearInterval(st.timer);
	st.timer = null;
	if (st.es)
		st.es.close();
	st.es = null;
}

function expired() {
	stopLive();
	showLogin(t('expired'));
	/* a fresh anonymous session, so the sign-in form has a CSRF token */
	fetch('/api/session', { credentials: 'same-origin' }).then((r) => r.json())
		.then((s) => { st.csrf = s.csrf; }).catch(() => {});
}

function startApp(s) {
	st.signedIn = true;
	st.user = s.user;
	st.csrf = s.csrf;
	$('login').hidden = true;
	$('notice').hidden = true;
	$('app').hidden = false;
	$('tabs').hidden = false;
	$('logout').hidden = false;
	applyLang(st.lang);
	document.body.dataset.state = 'app';
	showTab(location.hash.slice(1) || 'overview');
	loadSites().then(loadZones);
	pollStats();
	st.timer = setInterval(pollStats, 1000);
	openAlerts();
}

async function boot() {
	let lang = null;
	try { lang = localStorage.getItem('chot.lang'); } catch (e) { /* private mode */ }
	const r = await fetch('/api/session', { credentials: 'same-origin' });
	const s = await r.json();
	st.csrf = s.csrf;
	applyLang(lang || s.lang);
	if (s.signed_in)
		startApp(s);
	else
		showLogin();
}

async function login(ev) {
	ev.preventDefault();
	$('login-error').textContent = t('working');
	try {
		const r = await api('/api/login', { user: $('login-user').value,
						    password: $('login-password').value });
		$('login-password').value = '';
		$('login-error').textContent = '';
		startApp(await r.json());
	} catch (e) {
		$('login-error').textContent = e.message;
		document.body.dataset.state = 'login-refused';
	}
}

async function logout() {
	stopLive();
	try { await api('/api/logout', {}); } catch (e) { /* ended anyway */ }
	location.hash = '';
	const s = await (await fetch('/api/session', { credentials: 'same-origin' })).json();
	st.csrf = s.csrf;
	showLogin();
}

function showTab(name) {
	if (!$(name) || !$(name).classList.contains('tab'))
		name = 'overview';
	for (const s of document.querySelectorAll('section.tab'))
		s.hidden = s.id !== name;
	for (const b of document.querySelectorAll('nav button'))
		b.classList.toggle('active', b.dataset.tab === name);
	if (location.hash.slice(1) !== name)
		history.replaceState(null, '', '#' + name);
	if (name === 'sites' || name === 'zones')
		loadSites().then(loadZones);
}

/* ---------------------------------------------------------------- counters */

async function pollStats() {
	try {
		const j = await (await api('/api/stats')).json();
		renderStats(j);
		$('stats-error').textContent = '';
	} catch (e) {
		$('stats-error').textContent = e.message;
	}
}

function renderStats(j) {
	const body = $('counters').tBodies[0];
	const prev = st.prev;
	const dt = prev ? (j.ts_ms - prev.ts_ms) / 1000 : 0;
	const rate = (k) => (prev && dt > 0 && k in prev.stats)
		? Math.max(0, Math.round((j.stats[k] - prev.stats[k]) / dt)) : null;

	for (const [k, v] of Object.entries(j.stats)) {
		let row = body.querySelector('tr[data-counter="' + CSS.escape(k) + '"]');
		if (!row) {
			row = el('tr');
			row.dataset.counter = k;
			row.append(el('td', k), el('td', '', 'num value'), el('td', '', 'num rate'));
			body.append(row);
		}
		row.querySelector('.value').textContent = String(v);
		const r = rate(k);
		row.querySelector('.rate').textContent = r === null ? '' : String(r);
	}
	const rs = rate('events_stored'), rd = rate('events_decoded');
	$('rate-stored').textContent = rs === null ? '–' : String(rs);
	$('rate-decoded').textContent = rd === null ? '–' : String(rd);
	$('stats-time').textContent = new Date(j.ts_ms).toLocaleTimeString(st.lang === 'vi' ? 'vi-VN' : 'en-GB');
	document.body.dataset.statsTs = String(j.ts_ms);
	st.prev = j;
}

/* ---------------------------------------------------------------- alerts */

function openAlerts() {
	const es = new EventSource('/api/alerts');
	st.es = es;
	es.onopen = () => { $('alerts-state').textContent = t('stream_open'); document.body.dataset.alerts = 'open'; };
	es.onerror = () => { if (st.es === es) $('alerts-state').textContent = t('stream_lost'); };
	es.addEventListener('alert', (ev) => addAlert(JSON.parse(ev.data)));
	es.addEventListener('expired', () => expired());
	es.addEventListener('failed', (ev) => {
		$('alerts-state').textContent = JSON.parse(ev.data).error;
		es.close();
	});
}

function addAlert(a) {
	/* after a fault chotd may write an alert twice: one row per (pid, site, ts_ms) */
	const key = a.pid + '/' + a.site + '/' + a.ts_ms;
	if (st.alertKeys.has(key))
		return;
	st.alertKeys.add(key);
	const row = el('tr', null, 'new');
	row.dataset.alertId = a.alert_id;
	row.dataset.shownMs = String(Date.now());   /* when it reached the screen */
	row.append(el('td', fmtTime(a.ts_ms)), el('td', siteLabel(a.site)),
		   el('td', (a.reasons || []).join(', '), 'reasons'), el('td', a.pid, 'pid'),
		   el('td', a.scheme), el('td', a.device, 'num'), el('td', a.origin_commune, 'num'));
	const body = $('alerts-table').tBodies[0];
	body.prepend(row);
	while (body.rows.length > 500)
		body.deleteRow(-1);
	$('alerts-count').textContent = String(++st.alerts);
}

/* ---------------------------------------------------------------- sites, zones */

async function loadSites() {
	try {
		const j = await (await api('/api/sites')).json();
		st.sites = new Map(j.sites.map((s) => [s.id, s]));
		const body = $('sites-table').tBodies[0];
		body.replaceChildren(...j.sites.map((s) => {
			const row = el('tr');
			row.dataset.site = String(s.id);
			row.append(el('td', s.id, 'num'), el('td', s.name, 'name'), el('td', s.kind),
				   el('td', s.commune, 'num'));
			return row;
		}));
		$('sites-count').textContent = String(j.sites.length);
	} catch (e) { /* shown by the tab that needs it */ }
}

async function loadZones() {
	let zones = [];
	try {
		zones = (await (await api('/api/zones')).json()).zones;
		$('zones-error').textContent = '';
	} catch (e) {
		$('zones-error').textContent = e.message;
	}
	const level = new Map(zones.map((z) => [z.commune, z.level]));
	for (const s of st.sites.values())
		if (s.commune && !level.has(s.commune))
			level.set(s.commune, 1);   /* absent is green (lists.h) */
	const grid = $('zones-grid');
	grid.replaceChildren(...[...level.entries()].sort((a, b) => a[0] - b[0]).map(([c, l]) => {
		const cell = el('div', null, 'cell level-' + l);
		cell.dataset.commune = String(c);
		cell.dataset.level = String(l);
		cell.append(el('b', c), el('span', t(LEVELS[l]), 'level-name'));
		const sel = el('select');
		sel.title = t('set_level');
		for (let i = 1; i <= 4; i++) {
			const o = el('option', t(LEVELS[i]));
			o.value = String(i);
			o.selected = i === l;
			sel.append(o);
		}
		sel.addEventListener('change', () => setZone(c, sel.value));
		cell.append(sel);
		return cell;
	}));
}

async function setZone(commune, lvl) {
	try {
		await api('/api/zone', { commune: String(commune), level: String(lvl) });
		$('zones-error').textContent = t('zone_saved');
	} catch (e) {
		$('zones-error').textContent = e.message;
	}
	loadZones();
}

/* ---------------------------------------------------------------- trace */

function traceForm() {
	const f = {};
	for (const n of ['subject', 'scheme', 'pid', 'days', 'until', 'depth', 'window', 'min_overlap'])
		f[n] = $('trace-' + n).value.trim();
	if (!f.subject)
		delete f.scheme;
	return f;
}

async function runTrace(ev) {
	ev.preventDefault();
	$('trace-error').textContent = t('working');
	document.body.dataset.trace = 'running';
	try {
		const j = await (await api('/api/trace', traceForm())).json();
		$('trace-error').textContent = '';
		st.trace = j;
		renderTrace(j);
		$('trace-godata').disabled = false;
		document.body.dataset.trace = 'done';
	} catch (e) {
		$('trace-error').textContent = e.message;
		document.body.dataset.trace = 'failed';
	}
}

function renderTrace(j) {
	const f1 = j.contacts.filter((c) => c.degree === 1).length;
	const f2 = j.contacts.length - f1;
	const sum = $('trace-summary');
	sum.replaceChildren(el('span', 'pid ' + j.subject.pid + ' · ' + t('visits') + ' ' + j.visits.length + ' · '),
			    el('b', 'F1 ' + f1, 'f1-count'), el('span', ' · '), el('b', 'F2 ' + f2, 'f2-count'),
			    el('span', ' ' + t('contacts')));
	sum.dataset.f1 = String(f1);
	sum.dataset.f2 = String(f2);
	renderTimeline(j);
	const body = $('contacts').tBodies[0];
	body.replaceChildren(...j.contacts.map((c) => {
		const row = el('tr');
		row.dataset.degree = String(c.degree);
		row.append(el('td', 'F' + c.degree), el('td', c.pid, 'pid'), el('td', siteLabel(c.site)),
			   el('td', Math.round(c.overlap_ms / 60000), 'num'), el('td', fmtTime(c.first_ms)),
			   el('td', c.via || '', 'pid'));
		return row;
	}));
}

/* F0's visits as a picture: one lane per site, time left to right over the
 * span of the visits (with a margin, inside the trace's window). */
function renderTimeline(j) {
	const box = $('timeline');
	if (!j.visits.length) {
		box.replaceChildren(el('p', t('no_visits'), 'muted'));
		return;
	}
	const lanes = [...new Set(j.visits.map((v) => v.site))];
	const W = 960, L = 240, R = 20, H = 26, top = 24, hour = 3600000;
	const lo = Math.min(...j.visits.map((v) => v.from_ms));
	const hi = Math.max(...j.visits.map((v) => v.to_ms));
	const from = Math.max(j.window.from_ms, lo - 2 * hour);
	const to = Math.min(j.window.to_ms, hi + 2 * hour);
	const span = Math.max(1, to - from);
	const x = (ms) => L + (Math.min(Math.max(ms, from), to) - from) / span * (W - L - R);
	const height = top + lanes.length * H + 10;
	const s = svg('svg', { width: W, height: height, role: 'img', viewBox: '0 0 ' + W + ' ' + height });
	s.append(svg('title', {}, t('visits') + ' ' + j.subject.pid));
	const step = [hour, 3 * hour, 6 * hour, 12 * hour, 24 * hour, 48 * hour, 168 * hour]
		.find((d) => span / d <= 8) || 168 * hour;
	const loc = st.lang === 'vi' ? 'vi-VN' : 'en-GB';
	const tz = new Date().getTimezoneOffset() * 60000;  /* ticks on local hours */
	for (let d = Math.ceil((from - tz) / step) * step + tz; d <= to; d += step) {
		const when = new Date(d);
		const label = step >= 24 * hour ? when.toLocaleDateString(loc, { day: '2-digit', month: '2-digit' })
			: when.toLocaleString(loc, { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' });
		s.append(svg('line', { x1: x(d), x2: x(d), y1: top - 4, y2: top + lanes.length * H }));
		s.append(svg('text', { x: x(d) + 2, y: 14 }, label));
	}
	lanes.forEach((site, i) => {
		s.append(svg('text', { x: 4, y: top + i * H + 16 }, siteLabel(site).slice(0, 36)));
	});
	for (const v of j.visits) {
		const i = lanes.indexOf(v.site);
		const r = svg('rect', { class: 'visit', x: x(v.from_ms), y: top + i * H + 4,
					width: Math.max(3, x(v.to_ms) - x(v.from_ms)), height: H - 8, rx: 2 });
		r.append(svg('title', {}, siteLabel(v.site) + ': ' + fmtTime(v.from_ms) + ' – ' + fmtTime(v.to_ms)));
		s.append(r);
	}
	box.replaceChildren(s);
}

async function godata() {
	try {
		const r = await api('/api/godata', traceForm());
		const blob = await r.blob();
		const a = el('a');
		a.href = URL.createObjectURL(blob);
		const cd = r.headers.get('Content-Disposition') || '';
		const m = /filename="([^"]+)"/.exec(cd);
		a.download = m ? m[1] : 'chot-godata.csv';
		a.id = 'godata-link';
		document.body.append(a);
		a.click();
		document.body.dataset.godata = String(blob.size);
		setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 10000);
	} catch (e) {
		$('trace-error').textContent = e.message;
	}
}

/* ---------------------------------------------------------------- wiring */

document.addEventListener('DOMContentLoaded', () => {
	$('login-form').addEventListener('submit', login);
	$('logout').addEventListener('click', logout);
	$('lang-en').addEventListener('click', () => applyLang('en'));
	$('lang-vi').addEventListener('click', () => applyLang('vi'));
	$('trace-form').addEventListener('submit', runTrace);
	$('trace-godata').addEventListener('click', godata);
	for (const b of document.querySelectorAll('nav button'))
		b.addEventListener('click', () => showTab(b.dataset.tab));
	window.addEventListener('hashchange', () => st.signedIn && showTab(location.hash.slice(1)));
	boot().catch((e) => showLogin(String(e)));
});
