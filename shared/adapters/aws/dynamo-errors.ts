/** AWS error names that mean "slow down" rather than "broken". */
const THROTTLE_NAMES = new Set([
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "LimitExceededException",
]);

export function isThrottle(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { $retryable?: { throttling?: boolean } };
  return THROTTLE_NAMES.has(e.name) || e.$retryable?.throttling === true;
}

export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}
