/* global document, location, fetch, EventSource, URLSearchParams */
// The console's page: plain ES modules (preact + htm), no build step. It holds no secret: the
// token is an HttpOnly cookie, and the CSRF token it sends with answers comes from /api/session.
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from '/vendor/htm.mjs';
import uPlot from '/vendor/uPlot.esm.js';

const html = htm.bind(h);
let session = { csrf: '', namespace: '', webUi: '' };

async function getJSON(url) {
  const res = await fetch(url, { credentials: 'same-origin' });
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-longhaul-csrf': session.csrf },
    body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(answer.error ?? `${res.status}`);
  return answer.sent;
}

const usd = (n) => (n === undefined || n === null ? '–' : `$${Number(n).toFixed(n < 1 ? 4 : 2)}`);
const when = (t) => (t ? String(t).slice(0, 19).replace('T', ' ') : '');
const runLink = (id) => `/runs/${encodeURIComponent(id)}`;
const STATUSES = ['running', 'awaiting_human', 'completed', 'stopped', 'failed', 'cancelled', 'continued'];

function Badge({ status }) {
  return html`<span class="badge ${status ?? 'unknown'}">${status ?? 'unknown'}</span>`;
}

function Waiting({ memo }) {
  const e = memo?.escalation;
  if (e) return html`<span class="waiting">a person: ${e.kind}${e.tool ? ` (${e.tool})` : ''}: ${e.question}</span>`;
  return memo?.waitingOnPerson ? html`<span class="waiting">a person: ${memo.waitingOnPerson}</span>` : '';
}

function RunList() {
  const params = new URLSearchParams(location.search);
  const [status, setStatus] = useState(params.get('status') ?? '');
  const [prefix, setPrefix] = useState(params.get('prefix') ?? '');
  const [runs, setRuns] = useState([]);
  const [next, setNext] = useState(undefined);
  const [error, setError] = useState('');
  const load = async (more) => {
    const q = new URLSearchParams();
    if (status) q.set('status', status);
    if (prefix) q.set('prefix', prefix);
    if (more && next) q.set('next', next);
    try {
      const page = await getJSON(`/api/runs?${q}`);
      setRuns(more ? [...runs, ...page.runs] : page.runs);
      setNext(page.next);
      setError('');
    } catch (err) {
      setError(err.message);
    }
  };
  useEffect(() => void load(false), [status]);
  return html` <h1>Runs <small>namespace ${session.namespace}</small></h1>
    <form class="filters" onSubmit=${(e) => (e.preventDefault(), load(false))}>
      <label
        >status
        <select name="status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
          <option value="">any (live ends of chains)</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label
      >
      <label>id starts with <input name="prefix" value=${prefix} onInput=${(e) => setPrefix(e.target.value)} /></label>
      <button type="submit">filter</button>
    </form>
    ${error && html`<p class="refusal" role="alert">${error}</p>`}
    <table class="runs">
      <thead>
        <tr>
          <th>run</th>
          <th>status</th>
          <th>turn</th>
          <th>cost</th>
          <th>compactions</th>
          <th>waiting on</th>
          <th>started (UTC)</th>
        </tr>
      </thead>
      <tbody>
        ${runs.map(
          (r) =>
            html`<tr data-run=${r.workflowId}>
              <td><a href=${runLink(r.workflowId)}>${r.workflowId}</a></td>
              <td>
                <${Badge} status=${r.status} />
                ${r.temporalStatus !== 'RUNNING' ? html`<small>${r.temporalStatus}</small>` : ''}
              </td>
              ${
                r.unreadable
                  ? html`<td colspan="4" class="unreadable">unreadable: ${r.unreadable}</td>`
                  : html`<td>${r.memo ? `${r.memo.turn} of ${r.memo.maxTurns}` : '–'}</td>
                      <td>${usd(r.memo?.costUsd)}</td>
                      <td>${r.memo?.compactions ?? '–'}</td>
                      <td><${Waiting} memo=${r.memo} /></td>`
              }
              <td>${when(r.startTime)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${runs.length === 0 && !error ? html`<p>no runs</p>` : ''}
    ${next ? html`<button class="more" onClick=${() => load(true)}>more runs</button>` : ''}`;
}

/** Cost (cumulative) and each turn's context and output tokens over turns, from the store's per-turn usage. */
function Chart({ series }) {
  const ref = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    if (!ref.current || series.length === 0) return;
    let cost = 0;
    const data = [
      series.map((p) => p.turn),
      series.map((p) => (cost += (p.costNanos ?? 0) / 1e9)),
      series.map((p) => p.inputTokens + p.cacheReadTokens + p.cacheWriteTokens),
      series.map((p) => p.outputTokens),
    ];
    if (!plot.current) {
      plot.current = new uPlot(
        {
          width: 720,
          height: 240,
          scales: { x: { time: false } },
          axes: [
            { label: 'turn' },
            // uPlot's default ticks round small sums to the same label ($0.003 four times).
            { label: 'dollars', scale: '$', values: (_u, ticks) => ticks.map((t) => `$${t.toPrecision(3)}`), size: 70 },
            { label: 'tokens', scale: 'tok', side: 1 },
          ],
          series: [
            { label: 'turn' },
            { label: 'cost so far $', scale: '$', stroke: '#b0413e' },
            { label: 'context tokens', scale: 'tok', stroke: '#2f6690' },
            { label: 'output tokens', scale: 'tok', stroke: '#6a994e' },
          ],
        },
        data,
        ref.current,
      );
    } else plot.current.setData(data);
  }, [series]);
  // uPlot owns the div's content; the hint stays outside it.
  return html`${series.length === 0 ? html`<p class="hint">no per-turn figures in the store yet</p>` : ''}
    <div class="chart" ref=${ref}></div>`;
}

/** The answer form; what came of an answer is shown by the page (it outlives the escalation it answered). */
function Answer({ runId, escalation, onSent, onOutcome }) {
  const [messageText, setMessage] = useState('');
  const [turns, setTurns] = useState('');
  const [tokens, setTokens] = useState('');
  const [dollars, setDollars] = useState('');
  const send = async (decision) => {
    onOutcome(null);
    try {
      const sent = await post(`/api/runs/${encodeURIComponent(runId)}/answer`, {
        escalationId: escalation.id,
        decision,
        message: messageText,
        turns,
        tokens,
        usd: dollars,
      });
      onOutcome({ ok: true, text: sent });
      onSent();
    } catch (err) {
      onOutcome({ ok: false, text: err.message });
    }
  };
  const all = ['approve', 'deny', 'reply', 'extend', 'stop'];
  return html`<div class="answer">
    <label
      >message (deny: why; reply: the answer)<textarea
        name="message"
        value=${messageText}
        onInput=${(e) => setMessage(e.target.value)}
      ></textarea>
    </label>
    <label
      >extend by: turns <input name="turns" value=${turns} onInput=${(e) => setTurns(e.target.value)} size="6" /> tokens
      <input name="tokens" value=${tokens} onInput=${(e) => setTokens(e.target.value)} size="8" /> dollars
      <input name="usd" value=${dollars} onInput=${(e) => setDollars(e.target.value)} size="6"
    /></label>
    <div class="buttons">
      ${all.map(
        (d) =>
          html`<button class=${escalation.decisions.includes(d) ? 'fits' : 'other'} onClick=${() => send(d)}>
            ${d}
          </button>`,
      )}
    </div>
    <p class="hint">
      this escalation takes ${escalation.decisions.join(', ')}; the run checks every answer and says why it refuses one
    </p>
  </div>`;
}

/** The whole record of the chain, newest first, a page at a time (compaction summaries in place). */
function Transcript({ runId }) {
  const [page, setPage] = useState({ entries: [], next: undefined });
  const [error, setError] = useState('');
  const more = async () => {
    try {
      const q = page.next ? `?cursor=${encodeURIComponent(page.next)}` : '';
      const got = await getJSON(`/api/runs/${encodeURIComponent(runId)}/transcript${q}`);
      setPage({ entries: [...page.entries, ...got.entries], next: got.next });
    } catch (err) {
      setError(err.message);
    }
  };
  useEffect(() => void more(), []);
  const blocks = (content) =>
    typeof content === 'string'
      ? [{ type: 'text', text: content }]
      : content.map((b) =>
          b.type === 'text'
            ? b
            : b.type === 'compaction'
              ? { type: 'compaction summary', text: b.content }
              : b.type === 'tool_use'
                ? { type: `tool call ${b.name}`, text: JSON.stringify(b.input, null, 1) }
                : b.type === 'tool_result'
                  ? { type: 'tool result', text: typeof b.content === 'string' ? b.content : JSON.stringify(b.content) }
                  : { type: b.type, text: '' },
        );
  return html`<section class="transcript">
    <h2>
      Transcript
      <small
        >newest first; ${page.entries.length} messages shown${page.next === null ? ', back to the start' : ''}</small
      >
    </h2>
    ${error && html`<p class="note">${error}</p>`}
    ${page.entries.map(
      (e) =>
        html`<div class="message ${e.message.role}${e.compaction ? ' compaction' : ''}">
          <b
            >${e.message.role}${e.turn !== null ? `, turn ${e.turn}` : ''}${e.compaction ? ' (compaction summary first)' : ''}</b
          >
          ${blocks(e.message.content).map(
            (b) =>
              html`<div class="block">
                <i>${b.type}</i>
                <pre>${b.text}</pre>
              </div>`,
          )}
        </div>`,
    )}
    ${page.next ? html`<button class="older" onClick=${more}>older messages</button>` : ''}
  </section>`;
}

function RunPage({ id }) {
  const [detail, setDetail] = useState(null);
  const [live, setLive] = useState(null);
  const [series, setSeries] = useState([]);
  const [summaries, setSummaries] = useState([]);
  const turnSeen = useRef(-1);
  const [error, setError] = useState('');
  const [outcome, setOutcome] = useState(null);
  const load = () =>
    getJSON(`/api/runs/${encodeURIComponent(id)}`)
      .then((d) => {
        setDetail(d);
        setLive(d.live);
      })
      .catch((err) => setError(err.message));
  const loadSeries = () =>
    getJSON(`/api/runs/${encodeURIComponent(id)}/series`)
      .then((s) => {
        setSeries(s.points);
        setSummaries(s.summaries);
      })
      .catch(() => undefined);
  useEffect(() => {
    void load();
    void loadSeries();
    const events = new EventSource(`/api/runs/${encodeURIComponent(id)}/events`);
    events.addEventListener('live', (e) => {
      const l = JSON.parse(e.data);
      setLive(l);
      // The series grows with each turn: read again when the turn moves.
      const turn = l.progress?.counters.turn ?? l.memo?.turn ?? 0;
      if (turn !== turnSeen.current) {
        turnSeen.current = turn;
        void loadSeries();
      }
    });
    events.addEventListener('closed', () => {
      events.close();
      void load();
    });
    return () => events.close();
  }, [id]);
  if (error) return html`<p class="refusal" role="alert">${error}</p>`;
  if (!detail || !live) return html`<p>loading ${id}…</p>`;
  const latest = detail.runs[0];
  const p = live.progress;
  const r = detail.result;
  const status = r?.status ?? p?.status ?? live.memo?.status ?? latest.status;
  const counters = r?.counters ?? p?.counters;
  const escalation = live.temporalStatus === 'RUNNING' ? live.escalation : undefined;
  const compactions = r?.compactions ?? p?.compactions ?? [];
  const closed = r?.escalations ?? p?.escalations ?? [];
  const stop = async () => {
    setOutcome(null);
    try {
      setOutcome({
        ok: true,
        text: await post(`/api/runs/${encodeURIComponent(id)}/stop`, { message: 'stopped from the console' }),
      });
    } catch (err) {
      setOutcome({ ok: false, text: err.message });
    }
  };
  return html` <p><a href="/">← runs</a></p>
    <h1>
      ${id} <span id="status"><${Badge} status=${status} /></span>
    </h1>
    ${detail.unreadable && html`<p class="unreadable">unreadable here: ${detail.unreadable}</p>`}
    ${live.note && html`<p class="note" role="note">${live.note}</p>`}
    <p class="figures">
      ${[
        `turn ${counters?.turn ?? live.memo?.turn ?? '–'} of ${p?.maxTurns ?? r?.maxTurns ?? live.memo?.maxTurns ?? '–'}`,
        `cost ${usd(counters ? counters.costNanos / 1e9 : live.memo?.costUsd)}`,
        `tokens ${counters ? counters.inputTokens + counters.outputTokens : (live.memo?.tokensUsed ?? '–')}`,
        `compactions ${counters?.compactions ?? live.memo?.compactions ?? '–'}`,
      ].join(' · ')}
    </p>
    <p class="links">
      ${'Temporal Web UI: '}
      ${detail.runs.map(
        (run, i) =>
          html`<a href=${run.webUi} target="_blank" rel="noopener noreferrer"
            >run ${detail.runs.length - i}${i === 0 ? ' (latest)' : ''}</a
          > `,
      )}
    </p>
    ${live.temporalStatus === 'RUNNING' && !escalation && html`<p><button class="stop" onClick=${stop}>stop the run</button></p>`}
    ${outcome && html`<p class=${outcome.ok ? 'sent' : 'refusal'} role="alert">${outcome.text}</p>`}
    ${
      escalation &&
      html`<section class="escalation">
        <h2>Waiting on a person: ${escalation.kind} ${escalation.id}</h2>
        <pre id="question">${escalation.question}</pre>
        ${
          detail.heldInput !== undefined && p?.escalation?.id === escalation.id
            ? html`<details open>
                <summary>the held call's whole input</summary>
                <pre>${JSON.stringify(detail.heldInput, null, 2)}</pre>
              </details>`
            : ''
        }
        <p>deadline ${when(escalation.deadline)} UTC</p>
        <${Answer} runId=${id} escalation=${escalation} onSent=${load} onOutcome=${setOutcome} />
      </section>`
    }
    ${
      !escalation && live.temporalStatus === 'RUNNING' && live.memo?.waitingOnPerson
        ? html`<section class="escalation">
            <h2>Waiting on a person</h2>
            <pre id="question">${live.memo.waitingOnPerson}</pre>
          </section>`
        : ''
    }
    ${
      r?.report &&
      html`<section>
        <h2>Report</h2>
        <pre id="report">${r.report}</pre>
      </section>`
    }
    ${r?.reason && html`<p>reason: ${r.reason}</p>`}
    <section>
      <h2>Cost and tokens over turns</h2>
      <${Chart} series=${series} />
    </section>
    <section>
      <h2>Escalations</h2>
      ${
        closed.length === 0
          ? html`<p>none closed</p>`
          : html`<table>
              <thead>
                <tr>
                  <th>id</th>
                  <th>kind</th>
                  <th>question</th>
                  <th>outcome</th>
                  <th>by</th>
                  <th>at (UTC)</th>
                </tr>
              </thead>
              <tbody>
                ${closed.map(
                  (e) =>
                    html`<tr>
                      <td>${e.id}</td>
                      <td>${e.kind}</td>
                      <td>${e.question.split('\n')[0]}</td>
                      <td>${e.outcome.decision}${e.outcome.message ? `: ${e.outcome.message}` : ''}</td>
                      <td>${e.outcome.by}</td>
                      <td>${when(e.outcome.at)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>
    <section>
      <h2>Compactions</h2>
      ${
        compactions.length === 0
          ? html`<p>none</p>`
          : html`<table>
                <thead>
                  <tr>
                    <th>turn</th>
                    <th>tokens before</th>
                    <th>after</th>
                    <th>summary</th>
                  </tr>
                </thead>
                <tbody>
                  ${compactions.map(
                    (c) =>
                      html`<tr>
                        <td>${c.turn}</td>
                        <td>${c.inputTokensBefore}</td>
                        <td>${c.inputTokensAfter}</td>
                        <td>
                          ${((text) =>
                            text === undefined
                              ? `${c.summaryChars} chars (not in the store's record)`
                              : html`<details class="summary">
                                  <summary>${c.summaryChars} chars</summary>
                                  <pre>${text}</pre>
                                </details>`)(summaries.find((x) => x.turn === c.turn)?.summary)}
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>
              <p class="hint">each summary is also in the transcript below, where it was made</p>`
      }
    </section>
    <section>
      <h2>State</h2>
      ${detail.state ? html`<pre id="state">${JSON.stringify(detail.state, null, 2)}</pre>` : html`<p class="note">${NO_STATE}</p>`}
    </section>
    ${!detail.unreadable && html`<${Transcript} runId=${id} key=${latest.runId + String(!!r)} />`}`;
}
const NO_STATE = 'no state: a running run answers the state query only while a worker polls';

function App() {
  const [ready, setReady] = useState(false);
  useEffect(() => {
    getJSON('/api/session').then((s) => ((session = s), setReady(true)));
  }, []);
  if (!ready) return html`<p>loading…</p>`;
  const match = /^\/runs\/([^/]+)$/.exec(location.pathname);
  return match ? html`<${RunPage} id=${decodeURIComponent(match[1])} />` : html`<${RunList} />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
