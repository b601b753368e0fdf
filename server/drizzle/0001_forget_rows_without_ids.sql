-- Forget rows written before erasure stopped recording ids held the erased userId and anonymous
-- ids; what they said is no longer read by anyone (engine hosts read only the kind), so clear it.
UPDATE "changes" SET "payload" = '{}'::jsonb WHERE "kind" = 'forget';
