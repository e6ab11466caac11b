/**
 * Age signals from the platforms' answers (docs/age-signals.md): Apple's Declared Age Range, Google
 * Play's Age Signals and the AB 1043 operating-system brackets, each mapped to the body of
 * `PUT /v1/users/{user_id}/age-signals/{source}`. `null`: the answer carries no age (sharing
 * declined, an unknown status); send nothing then.
 */
export type AgeMethod = "self_declared" | "guardian_declared" | "payment_checked" | "id_checked" | "estimated" | "other";
export type Assurance = "low" | "substantial" | "high";
export type ParentalConsent = "granted" | "pending" | "denied" | "revoked";

export interface AgeSignal {
  age_min: number;
  age_max: number | null;
  method: AgeMethod;
  assurance: Assurance;
  observed_at?: string;
  expires_at?: string;
  parental_consent?: ParentalConsent;
}

export const APPLE_SOURCE = "apple_declared_age_range";
export const GOOGLE_PLAY_SOURCE = "google_play_age_signals";
export const OS_SOURCE = "os_age_signal";

// Apple's AgeRangeService.AgeRangeDeclaration cases (iOS 26, 26.2, 26.5)
const APPLE: Record<string, [AgeMethod, Assurance]> = {
  selfDeclared: ["self_declared", "low"],
  guardianDeclared: ["guardian_declared", "substantial"],
  paymentChecked: ["payment_checked", "substantial"],
  guardianPaymentChecked: ["payment_checked", "substantial"],
  governmentIDChecked: ["id_checked", "high"],
  guardianGovernmentIDChecked: ["id_checked", "high"],
  checkedByOtherMethod: ["other", "substantial"],
  guardianCheckedByOtherMethod: ["other", "substantial"],
  confirmed: ["other", "substantial"],
};
const PLAY_CONSENT: Record<string, ParentalConsent> = {
  SUPERVISED: "granted", SUPERVISED_APPROVAL_PENDING: "pending", SUPERVISED_APPROVAL_DENIED: "denied",
};
// California AB 1043 (Civil Code 1798.500 ff., operative 2027-01-01)
const BRACKETS: Record<string, [number, number | null]> = {
  under_13: [0, 12], "13_15": [13, 15], "16_17": [16, 17], "18_plus": [18, null],
};

function signal(lo: number, hi: number | null, method: AgeMethod, assurance: Assurance,
                consent?: ParentalConsent): AgeSignal {
  const body: AgeSignal = { age_min: lo, age_max: hi, method, assurance };
  if (consent !== undefined) body.parental_consent = consent;
  return body;
}

/** Apple's `requestAgeRange` answer: "sharing" with the range's `lowerBound`, `upperBound` and
 * `ageRangeDeclaration` case name, or "declinedSharing" (null). An unknown or missing declaration
 * counts as a self-declaration (it can then never give `adult`). */
export function ageSignalFromApple(response: string, lowerBound?: number | null, upperBound?: number | null,
                                   declaration?: string | null, parentalConsent?: ParentalConsent): AgeSignal | null {
  if (response !== "sharing" || (lowerBound == null && upperBound == null)) return null;
  const [method, assurance] = APPLE[declaration ?? ""] ?? ["self_declared", "low"];
  return signal(lowerBound ?? 0, upperBound ?? null, method, assurance, parentalConsent);
}

/** Google Play's `checkAgeSignals` answer: `VERIFIED` is 18 or over; `SUPERVISED*` the parent-set
 * range with the approval as the parental consent; anything else is no signal (null). */
export function ageSignalFromGooglePlay(userStatus: string | null | undefined, ageLower?: number | null,
                                        ageUpper?: number | null): AgeSignal | null {
  if (userStatus === "VERIFIED") return signal(18, null, "other", "substantial");
  if (userStatus && userStatus in PLAY_CONSENT && ageLower != null) {
    return signal(ageLower, ageUpper ?? null, "guardian_declared", "substantial", PLAY_CONSENT[userStatus]);
  }
  return null;
}

/** An AB 1043 bracket (`under_13`, `13_15`, `16_17`, `18_plus`): the statute deems the app to know
 * it, so it counts as `other` at `substantial` assurance. Anything else throws. */
export function ageSignalFromOsBracket(bracket: string): AgeSignal {
  const range = BRACKETS[bracket];
  if (!range) throw new RangeError(`unknown bracket ${JSON.stringify(bracket)}: one of ${Object.keys(BRACKETS).join(", ")}`);
  return signal(range[0], range[1], "other", "substantial");
}
