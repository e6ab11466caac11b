// governor-client against a real Governor: run by tests/clients/test_typescript_client.py, which
// starts the app on a free port (GOVERNOR_URL, GOVERNOR_TOKEN) with a fake clock that
// PUT /_test/clock moves. One file, so the tests run one after another on that one clock.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";

import { GovernorClient, GovernorError, GovernorUnavailable } from "../dist/index.js";

const baseUrl = process.env.GOVERNOR_URL;
const token = process.env.GOVERNOR_TOKEN;
if (!baseUrl || !token) throw new Error("run through pytest: GOVERNOR_URL and GOVERNOR_TOKEN are unset");

let users = 0;
const newUser = () => `ts-${process.pid}-${++users}`;
const at = (hhmm) => `2026-12-02T${hhmm}:00+08:00`; // a Wednesday in Shanghai
const same = (iso, expected) => assert.equal(Date.parse(iso), Date.parse(expected), `${iso} is not ${expected}`);

async function clock(body) {
  const r = await fetch(`${baseUrl}/_test/clock`, { method: "PUT", body: JSON.stringify(body) });
  assert.equal(r.status, 200);
}
const advance = (minutes) => clock({ advance_seconds: minutes * 60 });

/** The session's timer, driven by the test: `step()` runs the pending heartbeat and awaits it. */
function manualTimer() {
  const t = { pending: undefined, waits: [] };
  t.schedule = (fn, ms) => {
    t.waits.push(ms);
    t.pending = fn;
    return () => { if (t.pending === fn) t.pending = undefined; };
  };
  t.step = async () => {
    const fn = t.pending;
    assert.ok(fn, "no heartbeat is scheduled");
    t.pending = undefined;
    await fn();
  };
  return t;
}

/** A fetch whose network can be cut, and a client whose retries do not wait. */
function switchable() {
  const net = { down: false, now: 0, slept: [] };
  net.fetch = (url, init) => {
    if (net.down) return Promise.reject(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }));
    return fetch(url, init);
  };
  net.client = new GovernorClient({
    baseUrl, token, fetch: net.fetch, now: () => net.now,
    sleep: async (ms) => { net.slept.push(ms); net.now += ms; },
  });
  return net;
}

const governor = new GovernorClient({ baseUrl, token });

test("status, start, heartbeat and end answer decisions with the wire's names", async () => {
  await clock({ now: at("07:00") });
  const user = newUser();
  const status = await governor.status(user);
  assert.equal(status.allowed, true);
  assert.equal(status.reason, "ok");
  assert.equal(status.remaining_seconds, 40 * 60);
  assert.equal(status.active_sessions, 0);
  same(status.ends_at, at("07:30"));
  const started = await governor.start(user);
  assert.equal(started.allowed, true);
  assert.equal(started.heartbeat_interval_seconds, 60);
  for (let i = 0; i < 26; i++) {
    await advance(1);
    var beat = await governor.heartbeat(started.session_id);
  }
  assert.equal(beat.used_today_seconds, 26 * 60);
  assert.deepEqual(beat.warnings, [{ type: "break_soon", seconds_left: 240 }]);
  const ended = await governor.end(started.session_id);
  assert.equal(ended.duration_seconds, 26 * 60);
  assert.equal(ended.end_reason, "client");
});

test("a refusal is a decision, not an exception", async () => {
  await clock({ now: at("22:30") });
  const refused = await governor.start(newUser());
  assert.equal(refused.allowed, false);
  assert.equal(refused.reason, "curfew");
  assert.equal(refused.session_id, undefined);
  same(refused.retry_at, "2026-12-03T06:00:00+08:00");
});

test("problems are thrown as GovernorError with status and type", async () => {
  await clock({ now: at("07:00") });
  await assert.rejects(governor.heartbeat("no-such-session"),
    (e) => e instanceof GovernorError && e.status === 404 && e.type === "urn:governor:problem:session-not-found");
  const { session_id } = await governor.start(newUser());
  await governor.end(session_id);
  await assert.rejects(governor.heartbeat(session_id),
    (e) => e.status === 409 && e.type === "urn:governor:problem:session-ended" && e.problem.end_reason === "client");
  await assert.rejects(governor.start("not a valid id!"),
    (e) => e instanceof GovernorError && !(e instanceof GovernorUnavailable) && e.status === 422);
  const wrong = new GovernorClient({ baseUrl, token: "not-a-token" });
  await assert.rejects(wrong.status("u-1"), (e) => e.status === 401 && e.type === "urn:governor:problem:unauthorized");
});

test("an unreachable server is GovernorUnavailable after bounded backoff", async () => {
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
  let now = 0;
  const slept = [];
  const client = new GovernorClient({ baseUrl: `http://127.0.0.1:${port}`, token, now: () => now,
    sleep: async (ms) => { slept.push(ms); now += ms; } });
  await assert.rejects(client.status("u-1"), GovernorUnavailable);
  assert.deepEqual(slept, [250, 500, 1000, 2000, 4000, 4000]);
});

test("repeated 503s honour Retry-After; a start that may have been carried out is not repeated", async () => {
  let now = 0, calls = 0;
  const slept = [];
  const options = { baseUrl, token, now: () => now, sleep: async (ms) => { slept.push(ms); now += ms; } };
  const busy = new GovernorClient({ ...options,
    fetch: async () => { calls++; return new Response("{}", { status: 503, headers: { "Retry-After": "4" } }); } });
  await assert.rejects(busy.heartbeat("s-1"), (e) => e instanceof GovernorUnavailable && e.status === 503);
  assert.deepEqual(slept, [4000, 4000, 4000]);
  assert.equal(calls, 4);
  calls = 0;
  const slow = new GovernorClient({ ...options,
    fetch: async () => { calls++; throw new DOMException("timed out", "TimeoutError"); } });
  await assert.rejects(slow.start("u-1"), GovernorUnavailable);
  assert.equal(calls, 1);
});

test("a rate limit is waited out, then a GovernorError", async () => {
  let now = 0, calls = 0;
  const slept = [];
  const limited = () => new Response(JSON.stringify({ type: "urn:governor:problem:too-many-requests" }),
    { status: 429, headers: { "Retry-After": "2", "Content-Type": "application/problem+json" } });
  const client = new GovernorClient({ baseUrl, token, now: () => now, retryWithinMs: 5000,
    sleep: async (ms) => { slept.push(ms); now += ms; }, fetch: async () => { calls++; return limited(); } });
  await assert.rejects(client.start("u-1"), (e) => !(e instanceof GovernorUnavailable) && e.status === 429
    && e.type === "urn:governor:problem:too-many-requests");
  assert.deepEqual(slept, [2000, 2000]);
  assert.equal(calls, 3);
});

test("the session helper heartbeats, warns once per warning and reports the forced end", async () => {
  await clock({ now: at("07:00") });
  const timer = manualTimer();
  const warnings = [], ends = [];
  const session = await governor.session({ userId: newUser(), interval: 120, schedule: timer.schedule,
    onWarning: (w) => warnings.push(w), onEnd: (d) => ends.push(d) });
  assert.ok(session.sessionId && session.decision.allowed);
  for (let i = 0; i < 14; i++) { await advance(2); await timer.step(); } // 28 min: break_soon at 26 and 28
  assert.deepEqual(warnings, [{ type: "break_soon", seconds_left: 240 }]);
  assert.deepEqual(timer.waits.slice(-3), [120_000, 120_000, 120_000]);
  await advance(2);
  await timer.step(); // 30 min: the forced break
  assert.equal(session.ended, true);
  assert.equal(timer.pending, undefined);
  assert.equal(ends.length, 1);
  assert.equal(ends[0].allowed, false);
  assert.equal(ends[0].reason, "cooldown");
  same(ends[0].retry_at, at("07:45"));
  await session.close(); // nothing left to end
  assert.equal(ends.length, 1);
});

test("the helper's default interval is the server's, and close() ends the session", async () => {
  await clock({ now: at("08:00") });
  const timer = manualTimer();
  const seen = [];
  const session = await governor.session({ userId: newUser(), schedule: timer.schedule,
    onDecision: (d) => seen.push(d.remaining_seconds) });
  await advance(1);
  await timer.step();
  assert.deepEqual(timer.waits, [60_000, 60_000]);
  assert.deepEqual(seen, [2400, 2340]);
  await session.close();
  assert.equal(timer.pending, undefined);
  assert.equal(session.decision.end_reason, "client");
  assert.equal(session.decision.duration_seconds, 60);
});

test("a refused start runs no timer", async () => {
  await clock({ now: at("23:00") });
  const timer = manualTimer();
  const session = await governor.session({ userId: newUser(), schedule: timer.schedule });
  assert.equal(session.ended, true);
  assert.equal(session.decision.reason, "curfew");
  assert.equal(timer.pending, undefined);
});

test("fail-closed: an unreachable Governor ends the session with reason unavailable", async () => {
  await clock({ now: at("09:00") });
  const net = switchable();
  const timer = manualTimer();
  const ends = [];
  const session = await net.client.session({ userId: newUser(), schedule: timer.schedule, onEnd: (d) => ends.push(d) });
  net.down = true;
  await advance(1);
  await timer.step();
  assert.equal(session.ended, true);
  assert.deepEqual(ends.map((d) => [d.allowed, d.reason]), [[false, "unavailable"]]);
  assert.equal(timer.pending, undefined);
});

test("fail-open: the session goes on and recovers", async () => {
  await clock({ now: at("10:00") });
  const net = switchable();
  const timer = manualTimer();
  const ends = [];
  const session = await net.client.session({ userId: newUser(), schedule: timer.schedule, failOpen: true,
    onEnd: (d) => ends.push(d) });
  net.down = true;
  await advance(1);
  await timer.step();
  assert.equal(session.ended, false);
  net.down = false;
  await advance(1);
  await timer.step();
  assert.equal(session.decision.used_today_seconds, 120);
  await session.close();
  assert.deepEqual(ends, []);
});

test("fail-open at the start: the chat begins and the session starts once Governor answers", async () => {
  await clock({ now: at("11:00") });
  const net = switchable();
  const timer = manualTimer();
  net.down = true;
  await assert.rejects(net.client.session({ userId: newUser(), schedule: timer.schedule }), GovernorUnavailable);
  const session = await net.client.session({ userId: newUser(), schedule: timer.schedule, failOpen: true });
  assert.equal(session.sessionId, undefined);
  assert.equal(session.ended, false);
  net.down = false;
  await timer.step();
  assert.ok(session.sessionId);
  assert.equal(session.decision.allowed, true);
  await session.close();
});

test("a session ended elsewhere ends the helper with the session's end reason", async () => {
  await clock({ now: at("12:00") });
  const timer = manualTimer();
  const ends = [];
  const session = await governor.session({ userId: newUser(), schedule: timer.schedule, onEnd: (d) => ends.push(d) });
  await governor.end(session.sessionId);
  await timer.step();
  assert.equal(session.ended, true);
  assert.deepEqual(ends.map((d) => [d.allowed, d.reason]), [[false, "client"]]);
});
