// governor-client's guardian and time-request calls against a real Governor (DESIGN section 7): run by
// tests/clients/test_typescript_client.py with GOVERNOR_URL, a sessions token (the child's frontend),
// a guardian token (the parent app) and an age token (the verifier who links a guardian). The child
// is 12 (age_8_15: 60 minutes a day, guardians may grant 60 more); the clock is set per test.
import assert from "node:assert/strict";
import { test } from "node:test";

import { GovernorClient, GovernorError, GovernorUnavailable } from "../dist/index.js";

const baseUrl = process.env.GOVERNOR_URL;
const { GOVERNOR_TOKEN: token, GOVERNOR_GUARDIAN_TOKEN: guardianToken, GOVERNOR_AGE_TOKEN: ageToken } = process.env;
if (!baseUrl || !token || !guardianToken || !ageToken) {
  throw new Error("run through pytest: GOVERNOR_URL and the GOVERNOR_*_TOKEN variables are unset");
}

let n = 0;
const family = () => ({ kid: `ts-kid-${process.pid}-${++n}`, mum: `ts-mum-${process.pid}-${n}` });
const at = (hhmm, day = "02") => `2026-12-${day}T${hhmm}:00+08:00`; // Wednesday 2 December, in Shanghai
const same = (iso, expected) => assert.equal(Date.parse(iso), Date.parse(expected), `${iso} is not ${expected}`);
const frontend = new GovernorClient({ baseUrl, token });
const parentApp = new GovernorClient({ baseUrl, token: guardianToken });

async function put(path, body, bearer = ageToken) {
  const r = await fetch(baseUrl + path, { method: "PUT", body: body && JSON.stringify(body),
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" } });
  assert.equal(r.status, 200, await r.text());
}
const clock = (now) => put("/_test/clock", { now });

/** A verifier says the child is 12 and links the guardian. */
async function link({ kid, mum }) {
  await put(`/v1/users/${kid}/age-verification`, { status: "verified", birth_date: "2014-06-01",
    method: "id_document", provider: "kyc", assurance: "high" });
  await put(`/v1/users/${kid}/guardians/${mum}`);
}

const problem = (status, type) => (e) => e instanceof GovernorError && !(e instanceof GovernorUnavailable)
  && e.status === status && (type === undefined || e.type === `urn:governor:problem:${type}`);

test("children come with their decision and this guardian's controls", async () => {
  await clock(at("07:00"));
  const f = family();
  assert.deepEqual(await parentApp.children(f.mum), []);
  await link(f);
  const [child, ...others] = await parentApp.children(f.mum);
  assert.deepEqual(others, []);
  assert.equal(child.user_id, f.kid);
  assert.equal(child.decision.allowed, true);
  assert.equal(child.decision.band, "age_8_15");
  assert.equal(child.decision.remaining_seconds, 3600);
  assert.deepEqual(child.controls, { daily_limit_minutes: null, quiet_hours: null, rest_reminder_minutes: null });
  assert.deepEqual(child.age, { band: "age_8_15", age_min: 12, age_max: 12, basis: ["verification"],
    parental_consent: null });
});

test("a child's age carries the parental consent in force", async () => {
  await clock(at("07:00"));
  const f = family();
  await link(f);
  await clock(at("07:01"));
  assert.equal((await parentApp.setParentalConsent(f.mum, f.kid, true)).parental_consent, "granted");
  const [child] = await parentApp.children(f.mum);
  assert.equal(child.age.parental_consent, "granted");
  await clock(at("07:02"));
  await parentApp.setParentalConsent(f.mum, f.kid, false);
  assert.equal((await parentApp.children(f.mum))[0].age.parental_consent, "revoked");
});

test("setControls names all three; updateControls changes only those named", async () => {
  await clock(at("07:00"));
  const f = family();
  await link(f);
  const put = await parentApp.setControls(f.mum, f.kid,
    { daily_limit_minutes: 30, quiet_hours: ["21:00-07:00"], rest_reminder_minutes: null });
  assert.deepEqual(put, { daily_limit_minutes: 30, quiet_hours: ["21:00-07:00"], rest_reminder_minutes: null });
  assert.equal((await frontend.status(f.kid)).remaining_seconds, 30 * 60);
  assert.deepEqual(await parentApp.updateControls(f.mum, f.kid, { rest_reminder_minutes: 10 }),
    { daily_limit_minutes: 30, quiet_hours: ["21:00-07:00"], rest_reminder_minutes: 10 });
  assert.deepEqual(await parentApp.updateControls(f.mum, f.kid, { quiet_hours: null, daily_limit_minutes: 20 }),
    { daily_limit_minutes: 20, quiet_hours: null, rest_reminder_minutes: 10 });
  assert.deepEqual(await parentApp.controls(f.mum, f.kid),
    { daily_limit_minutes: 20, quiet_hours: null, rest_reminder_minutes: 10 });
  assert.equal((await frontend.status(f.kid)).remaining_seconds, 20 * 60);
  await assert.rejects(parentApp.updateControls(f.mum, f.kid, { quiet_hours: ["25:00-26:00"] }), problem(422));
});

test("controls problems are GovernorErrors", async () => {
  await clock(at("07:00"));
  const f = family();
  await link(f);
  await assert.rejects(parentApp.setControls(f.mum, f.kid,
    { daily_limit_minutes: 90, quiet_hours: null, rest_reminder_minutes: null }),
  (e) => problem(422)(e) && e.problem.band_daily_limit_minutes === 60);
  await assert.rejects(parentApp.controls("stranger", f.kid), problem(404, "not-found"));
  await assert.rejects(parentApp.children("not a guardian id"), problem(422));
});

test("a week summary", async () => {
  await clock(at("07:00"));
  const f = family();
  await link(f);
  const { session_id } = await frontend.start(f.kid);
  for (let minute = 1; minute <= 10; minute++) {
    await clock(at(`07:${String(minute).padStart(2, "0")}`));
    await frontend.heartbeat(session_id);
  }
  await frontend.end(session_id);
  const week = await parentApp.weekSummary(f.mum, f.kid);
  assert.equal(week.week, "2026-W49");
  assert.equal(week.band, "age_8_15");
  assert.deepEqual(week.days.map((d) => d.date), ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03",
    "2026-12-04", "2026-12-05", "2026-12-06"]);
  assert.deepEqual(week.days[2], { date: "2026-12-02", seconds: 600, uncounted_seconds: 0, sessions: 1 });
  assert.equal(week.total_seconds, 600);
  assert.deepEqual(week.time_requests, { approved: 0, denied: 0, expired: 0, pending: 0 });
  const before = await parentApp.weekSummary(f.mum, f.kid, "2026-W48");
  assert.equal(before.days[0].date, "2026-11-23");
  assert.equal(before.total_seconds, 0);
});

test("a guardian grant, within the cap", async () => {
  await clock(at("07:00"));
  const f = family();
  await link(f);
  const added = await parentApp.guardianGrant(f.mum, f.kid, 15, "homework");
  assert.deepEqual(added.grant, { date: "2026-12-02", extra_minutes: 15, reason: "homework", by: "guardian" });
  assert.equal(added.decision.remaining_seconds, 75 * 60);
  await assert.rejects(parentApp.guardianGrant(f.mum, f.kid, 50), (e) => problem(422)(e) && e.detail.includes("60"));
});

test("the child asks for time; the guardian approves fewer minutes; a second decision is a 409", async () => {
  await clock(at("07:00"));
  const f = family();
  await assert.rejects(frontend.askForTime(f.kid, 20), problem(409, "no-guardian"));
  await link(f);
  const asked = await frontend.askForTime(f.kid, 20, "finishing my essay");
  assert.match(asked.id, /^tr_/);
  assert.equal(asked.status, "pending");
  assert.equal(asked.minutes, 20);
  assert.equal(asked.note, "finishing my essay");
  assert.equal(asked.decided_minutes, null);
  assert.equal(asked.date, "2026-12-02");
  same(asked.created_at, at("07:00"));
  same(asked.expires_at, at("00:00", "03"));
  await assert.rejects(frontend.askForTime(f.kid, 5), problem(409, "request-pending"));
  assert.deepEqual(await frontend.timeRequest(asked.id), asked);
  assert.deepEqual(await parentApp.timeRequests(f.mum), [asked]);
  assert.deepEqual(await parentApp.timeRequests(f.mum, "approved"), []);
  await assert.rejects(parentApp.decideTimeRequest(f.mum, asked.id, "approved", 30), problem(422));
  await clock(at("07:05"));
  const approved = await parentApp.decideTimeRequest(f.mum, asked.id, "approved", 10);
  assert.equal(approved.status, "approved");
  assert.equal(approved.decided_minutes, 10);
  same(approved.decided_at, at("07:05"));
  assert.equal((await frontend.timeRequest(asked.id)).status, "approved");
  assert.equal((await frontend.status(f.kid)).remaining_seconds, 70 * 60);
  await assert.rejects(parentApp.decideTimeRequest(f.mum, asked.id, "denied"), problem(409, "request-decided"));
});

test("a denied request, and one that expires with its day", async () => {
  await clock(at("07:00"));
  const f = family();
  await link(f);
  const first = await frontend.askForTime(f.kid, 30);
  const denied = await parentApp.decideTimeRequest(f.mum, first.id, "denied");
  assert.equal(denied.status, "denied");
  assert.equal(denied.decided_minutes, null);
  const second = await frontend.askForTime(f.kid, 10);
  await clock(at("00:01", "03"));
  assert.equal((await frontend.timeRequest(second.id)).status, "expired");
  assert.deepEqual((await parentApp.timeRequests(f.mum)).map((r) => r.status), ["expired", "denied"]);
  assert.deepEqual((await parentApp.timeRequests(f.mum, "expired")).map((r) => r.id), [second.id]);
  await assert.rejects(parentApp.decideTimeRequest(f.mum, second.id, "approved"), problem(409));
  await assert.rejects(frontend.timeRequest("tr_unknown"), problem(404));
});

test("on the wire: a PATCH names only the fields given; a grant, an ask or a decision is not repeated", async () => {
  const sent = [];
  const recording = new GovernorClient({ baseUrl: "http://governor.test", token: "tok", fetch: async (url, init) => {
    sent.push([init.method, new URL(url).pathname, JSON.parse(init.body)]);
    return Response.json({ daily_limit_minutes: null, quiet_hours: null, rest_reminder_minutes: null });
  } });
  await recording.updateControls("mum", "kid", { rest_reminder_minutes: 10 });
  await recording.updateControls("mum", "kid", { quiet_hours: null, daily_limit_minutes: undefined });
  await recording.setControls("mum", "kid", { daily_limit_minutes: 5, quiet_hours: null, rest_reminder_minutes: null });
  assert.deepEqual(sent, [
    ["PATCH", "/v1/guardians/mum/children/kid/controls", { rest_reminder_minutes: 10 }],
    ["PATCH", "/v1/guardians/mum/children/kid/controls", { quiet_hours: null }],
    ["PUT", "/v1/guardians/mum/children/kid/controls",
      { daily_limit_minutes: 5, quiet_hours: null, rest_reminder_minutes: null }]]);
  for (const call of [(c) => c.guardianGrant("mum", "kid", 10), (c) => c.askForTime("kid", 10),
    (c) => c.decideTimeRequest("mum", "tr_1", "approved")]) {
    let calls = 0;
    const slow = new GovernorClient({ baseUrl: "http://governor.test", token: "tok", sleep: async () => {},
      fetch: async () => { calls++; throw new DOMException("timed out", "TimeoutError"); } });
    await assert.rejects(call(slow), GovernorUnavailable);
    assert.equal(calls, 1);
  }
});
