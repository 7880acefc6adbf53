-- Searches by name within a building join persons to their households inside one estate; with (household_id)
-- alone the planner filters the estate afterwards: 2.7 ms → 0.3 ms per search (api_owner_search --breakdown).
-- The wider index also serves every lookup by household_id, so the narrower one goes.
CREATE INDEX persons_household_estate ON persons (household_id, estate_id);
DROP INDEX persons_household;
