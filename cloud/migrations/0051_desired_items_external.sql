-- Desired-state item bodies are stored out of line without compression (issue 5, gallery_sync bench). A gallery
-- item is mostly a base64 embedding of random-looking floats, which pglz cannot shrink by the 25 % it needs, so
-- every put of a gallery paid for a failed compression attempt of ~26 MB per 10,000 faces: measured -20..30 % of
-- the insert's time on PGlite and PostgreSQL. Only rows written from now on are affected; reads are unchanged.
ALTER TABLE desired_items ALTER COLUMN body SET STORAGE EXTERNAL;
