/**
 * governor-client: a chat frontend's session loop, a child's requests for more time, and a parent
 * app's calls, against Governor.
 *
 *   const governor = new GovernorClient({ baseUrl, token });
 *   const status = await governor.status("u-123");            // ask before the chat
 *   const session = await governor.session({ userId: "u-123", onWarning, onEnd });
 *   if (!session.decision?.allowed) showBreakScreen(session.decision);
 *   ...
 *   await session.close();                                     // when the chat closes
 *
 *   const parentApp = new GovernorClient({ baseUrl, token: guardianToken });
 *   await parentApp.updateControls("parent-7", "u-123", { quiet_hours: ["21:00-07:00"] });
 *
 * Answers keep the wire's field names. A refusal is a decision with `allowed: false`, never an
 * exception; a problem answer is a thrown `GovernorError`; a server that cannot be reached, or keeps
 * answering 503, is a thrown `GovernorUnavailable` once the retries (within `retryWithinMs`,
 * honouring Retry-After) are spent. The types come from Governor's /openapi.json (src/schema.ts is
 * generated: `npm run generate`).
 */
export { GovernorClient, type ClientOptions } from "./client.js";
export {
  ageSignalFromApple, ageSignalFromGooglePlay, ageSignalFromOsBracket, APPLE_SOURCE, GOOGLE_PLAY_SOURCE, OS_SOURCE,
  type AgeMethod, type AgeSignal, type Assurance, type ParentalConsent,
} from "./age.js";
export { GovernorError, GovernorUnavailable } from "./errors.js";
export { GovernorSession, type SessionOptions } from "./session.js";
export type {
  Child, ChildAge, Controls, ControlsChange, Decision, Ended, EndDecision, GuardianGrant, Heartbeat, Refusal, Started, Status,
  TimeRequest, TimeRequestStatus, Warning, WeekSummary,
} from "./types.js";
