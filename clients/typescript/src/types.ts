/** The answers' types, taken from Governor's /openapi.json (src/schema.ts is generated from it:
 * `npm run generate`), so field names are the wire's. */
import type { paths } from "./schema.js";

type JsonAnswer<P extends keyof paths, M extends keyof paths[P], C extends number> =
  paths[P][M] extends { responses: infer R }
    ? R extends { [K in C]: { content: { "application/json": infer B } } } ? B : never
    : never;

// -- the session loop (scope sessions) ---------------------------------------------------------

/** POST /v1/sessions, 201: a decision with `session_id` and `heartbeat_interval_seconds`. */
export type Started = JsonAnswer<"/v1/sessions", "post", 201>;
/** POST /v1/sessions, 403: a refused decision. */
export type Refusal = JsonAnswer<"/v1/sessions", "post", 403>;
export type Heartbeat = JsonAnswer<"/v1/sessions/{session_id}/heartbeat", "post", 200>;
export type Ended = JsonAnswer<"/v1/sessions/{session_id}/end", "post", 200>;
export type Status = JsonAnswer<"/v1/users/{user_id}/status", "get", 200>;
/** Any decision; the fields that only some answers carry are optional. */
export type Decision = Refusal & Partial<Omit<Started & Ended & Status, keyof Refusal>>;
export type Warning = Refusal["warnings"][number] & { number?: number | null };
/** The reasons of the server, and the helper's own `unavailable` (fail-closed) and end reasons. */
export type EndDecision = Omit<Decision, "reason"> & { reason: string };

// -- guardians and time requests (DESIGN section 7) ----------------------------------------------

/** One linked child: what a start would answer now, this guardian's controls, and the child's age. */
export type Child = JsonAnswer<"/v1/guardians/{guardian_id}/children", "get", 200>["children"][number];
/** A child's age as a status shows it: band, today's span, the sources that decided (`basis`) and the
 * parental consent in force (the latest said by any linked guardian or age signal; null: nobody). */
export type ChildAge = Child["age"];
/** One ISO week of a child, Monday to Sunday. */
export type WeekSummary = JsonAnswer<"/v1/guardians/{guardian_id}/children/{user_id}/summary", "get", 200>;
/** One guardian's controls of one child (null where unset). */
export type Controls = JsonAnswer<"/v1/guardians/{guardian_id}/children/{user_id}/controls", "get", 200>;
/** A PATCH of controls: only the fields named change (null unsets one). */
export type ControlsChange = Partial<Controls>;
/** POST .../grants, 201: the grant and the child's decision with it. */
export type GuardianGrant = JsonAnswer<"/v1/guardians/{guardian_id}/children/{user_id}/grants", "post", 201>;
export type TimeRequest = JsonAnswer<"/v1/time-requests/{request_id}", "get", 200>;
export type TimeRequestStatus = TimeRequest["status"];

// Fails to compile when a regenerated schema.ts no longer gives these answers their shape.
const _typesResolve: [Started["session_id"], Refusal["allowed"], Heartbeat["used_today_seconds"],
  Ended["duration_seconds"], Status["active_sessions"], Child["user_id"], ChildAge["parental_consent"],
  WeekSummary["total_seconds"], Controls["daily_limit_minutes"], GuardianGrant["grant"]["extra_minutes"],
  TimeRequestStatus] = ["s", false, 0, 0, 0, "u", "granted", 0, null, 1, "pending"];
void _typesResolve;
