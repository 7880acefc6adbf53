-- A queued access delta the sync engine refuses for good (invalid for its section, a gateway that no longer exists)
-- is set aside with the reason instead of blocking every change queued after it — revocations included.
ALTER TABLE access_desired_queue ADD COLUMN failed_reason text;
