-- A password reset ends the sessions opened before it: tokens issued before
-- `credentials_after` (epoch milliseconds) are refused. NULL: none are.
ALTER TABLE app_user ADD COLUMN credentials_after BIGINT;
