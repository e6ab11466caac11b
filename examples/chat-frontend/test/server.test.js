// The example's server against a real Governor (GOVERNOR_URL, GOVERNOR_TOKEN; the clock moves with
// PUT /_test/clock), run by tests/clients/test_typescript_client.py.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

const governorUrl = process.env.GOVERNOR_URL;
if (!governorUrl || !process.env.GOVERNOR_TOKEN) throw new Error("run through pytest: GOVERNOR_URL is unset");
const { server } = await import("../server.mjs");
let base;
before(() => new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
  base = `http://127.0.0.1:${server.address().port}`;
  resolve();
})));
after(() => new Promise((resolve) => server.close(resolve)));

const clock = (now) => fetch(`${governorUrl}/_test/clock`, { method: "PUT", body: JSON.stringify({ now }) });

/** Opens the chat stream and reads its first event. */
async function firstEvent(user) {
  const controller = new AbortController();
  const r = await fetch(`${base}/api/chat?user=${user}`, { signal: controller.signal });
  assert.equal(r.headers.get("content-type"), "text/event-stream");
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n\n")) text += (await reader.read()).value;
  const [, event, data] = text.match(/^event: (\w+)\ndata: (.*)\n\n/);
  return { event, data: JSON.parse(data), close: () => controller.abort() };
}

async function status(user) {
  return (await fetch(`${base}/api/status?user=${user}`)).json();
}

test("the page is served", async () => {
  const r = await fetch(base);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /Can I chat\?/);
});

test("ask, chat, and closing the page ends the session", async () => {
  await clock("2026-12-02T07:00:00+08:00");
  assert.equal((await status("ex-1")).allowed, true);
  const chat = await firstEvent("ex-1");
  assert.equal(chat.event, "decision");
  assert.equal(chat.data.allowed, true);
  assert.equal(chat.data.remaining_seconds, 40 * 60);
  assert.equal((await status("ex-1")).active_sessions, 1);
  chat.close();
  for (let i = 0; i < 100 && (await status("ex-1")).active_sessions !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server sees the close asynchronously
  }
  assert.equal((await status("ex-1")).active_sessions, 0);
});

test("a refused chat gets the break screen's reason and retry_at", async () => {
  await clock("2026-12-02T22:30:00+08:00");
  const refused = await firstEvent("ex-2");
  const end = refused.event === "end" ? refused : undefined;
  assert.ok(end, `expected the end event, got ${refused.event}`);
  assert.equal(end.data.reason, "curfew");
  assert.equal(Date.parse(end.data.retry_at), Date.parse("2026-12-03T06:00:00+08:00"));
});

test("a problem is passed on to the page as a reason it can show", async () => {
  const r = await fetch(`${base}/api/status?user=${encodeURIComponent("not a valid id")}`);
  assert.equal(r.status, 422);
  assert.deepEqual(Object.keys(await r.json()), ["allowed", "reason", "detail"]);
});
