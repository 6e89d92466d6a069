/** Rate-limit budgets (process settings) high enough that no test trips them by accident. */
export const GENEROUS_LIMITS: Readonly<Record<string, string>> = {
  RATE_LIMIT_WINDOW_SECONDS: "60",
  RATE_LIMIT_REGISTER: "100000",
  RATE_LIMIT_LOGIN: "100000",
  RATE_LIMIT_REFRESH: "100000",
  RATE_LIMIT_CREATE_ROOM: "100000",
  RATE_LIMIT_JOIN: "100000",
  RATE_LIMIT_HISTORY: "100000",
  RATE_LIMIT_WS_MESSAGES: "100000",
  RATE_LIMIT_WS_TYPING: "100000"
}
