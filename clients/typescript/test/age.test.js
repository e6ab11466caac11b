// governor-client's age-signal mappings (docs/age-signals.md) against the platforms' documented answers,
// and setAgeSignal against a real Governor (run by tests/clients/test_typescript_client.py with
// GOVERNOR_URL and an age token).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ageSignalFromApple, ageSignalFromGooglePlay, ageSignalFromOsBracket, GovernorClient, GovernorError }
  from "../dist/index.js";

const pick = (s) => [s.age_min, s.age_max, s.method, s.assurance, s.parental_consent];

test("Apple's Declared Age Range", () => {
  assert.deepEqual(pick(ageSignalFromApple("sharing", 13, 15, "guardianDeclared")),
    [13, 15, "guardian_declared", "substantial", undefined]);
  assert.deepEqual(pick(ageSignalFromApple("sharing", 18, null, "selfDeclared")), [18, null, "self_declared", "low", undefined]);
  assert.deepEqual(pick(ageSignalFromApple("sharing", 18, null, "governmentIDChecked")), [18, null, "id_checked", "high", undefined]);
  assert.deepEqual(pick(ageSignalFromApple("sharing", null, 12, "confirmed")), [0, 12, "other", "substantial", undefined]);
  assert.deepEqual(pick(ageSignalFromApple("sharing", 13, 15, "somethingNew")), [13, 15, "self_declared", "low", undefined]);
  assert.equal(ageSignalFromApple("sharing", 13, 15, "guardianDeclared", "revoked").parental_consent, "revoked");
  assert.equal(ageSignalFromApple("declinedSharing"), null);
});

test("Google Play's Age Signals", () => {
  assert.deepEqual(pick(ageSignalFromGooglePlay("VERIFIED")), [18, null, "other", "substantial", undefined]);
  assert.deepEqual(pick(ageSignalFromGooglePlay("SUPERVISED", 13, 15)), [13, 15, "guardian_declared", "substantial", "granted"]);
  assert.equal(ageSignalFromGooglePlay("SUPERVISED_APPROVAL_PENDING", 0, 12).parental_consent, "pending");
  assert.equal(ageSignalFromGooglePlay("SUPERVISED_APPROVAL_DENIED", 16, 17).parental_consent, "denied");
  for (const nothing of ["UNKNOWN", "", null, undefined]) assert.equal(ageSignalFromGooglePlay(nothing, 13, 15), null);
});

test("AB 1043 brackets", () => {
  assert.deepEqual(["under_13", "13_15", "16_17", "18_plus"].map((b) => {
    const s = ageSignalFromOsBracket(b);
    return [s.age_min, s.age_max];
  }), [[0, 12], [13, 15], [16, 17], [18, null]]);
  assert.throws(() => ageSignalFromOsBracket("13-15"), RangeError);
});

test("setAgeSignal against Governor", async () => {
  const governor = new GovernorClient({ baseUrl: process.env.GOVERNOR_URL, token: process.env.GOVERNOR_AGE_TOKEN });
  const kid = `ts-age-${process.pid}`;
  const done = await governor.setAgeSignal(kid, "os_age_signal", ageSignalFromOsBracket("13_15"));
  assert.equal(done.age.band, "age_8_15");
  const adult = await governor.setAgeSignal(`${kid}-a`, "apple_declared_age_range",
    ageSignalFromApple("sharing", 18, null, "selfDeclared"));
  assert.equal(adult.age.band, "unverified");
  assert.equal((await governor.withdrawAgeSignal(kid, "os_age_signal")).band, "unverified");
  await assert.rejects(governor.setAgeSignal(kid, "os_age_signal", { ...ageSignalFromOsBracket("13_15"), age_max: 3 }),
    (e) => e instanceof GovernorError && e.status === 422);
});
