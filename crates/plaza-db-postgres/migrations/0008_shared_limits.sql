-- What nodes share when they fan out through PostgreSQL instead of Redis: per-key rate
-- limits (GCRA: the theoretical arrival time, in microseconds) and ringing 1:1 calls.
-- Rows past their time are purged with the other expired credentials.
CREATE TABLE rate_limit (
    limit_key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);
CREATE INDEX rate_limit_by_tat ON rate_limit (tat);

CREATE TABLE ringing_call (
    call_id TEXT PRIMARY KEY,
    until BIGINT NOT NULL
);
