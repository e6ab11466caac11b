// The example chat frontend's server: serves the page and, per open chat, runs the Governor
// session helper, streaming its decisions, warnings and end to the page (Server-Sent Events).
// The token stays here, never in the browser. Closing the page ends the session.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";

import { GovernorClient, GovernorError, GovernorUnavailable } from "governor-client";

const governor = new GovernorClient({ baseUrl: process.env.GOVERNOR_URL ?? "http://127.0.0.1:8000",
  token: process.env.GOVERNOR_TOKEN ?? "" });
const page = new URL("./public/index.html", import.meta.url);

export const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  const user = url.searchParams.get("user") ?? "";
  try {
    if (url.pathname === "/") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(await readFile(page));
    } else if (url.pathname === "/api/status") { // ask before the chat
      json(res, 200, await governor.status(user));
    } else if (url.pathname === "/api/chat") { // the chat's lifetime = this stream's
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store" });
      const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      let session;
      res.on("close", () => void session?.close()); // the page went away: end the session
      session = await governor.session({ userId: user, onDecision: (d) => d.allowed && send("decision", d),
        onWarning: (w) => send("warning", w), onEnd: (d) => { send("end", d); res.end(); } });
      if (session.ended) return void (send("end", session.decision), res.end()); // refused at the start
      if (res.closed) await session.close(); // it went away while the session was starting
    } else {
      json(res, 404, { title: "not found" });
    }
  } catch (e) { // no chat without Governor's answer (fail-closed)
    if (!(e instanceof GovernorError)) throw e;
    const unavailable = e instanceof GovernorUnavailable;
    const body = { allowed: false, reason: unavailable ? "unavailable" : "error", detail: e.detail };
    if (!res.headersSent) return json(res, unavailable ? 503 : e.status, body);
    res.end(`event: end\ndata: ${JSON.stringify(body)}\n\n`);
  }
});

function json(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 3000);
  server.listen(port, "127.0.0.1", () => console.log(`chat example on http://127.0.0.1:${port}`));
}
