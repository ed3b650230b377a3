-- hartd deploy --dry-run: postgres://hartd:xxxxx@127.0.0.1:5432/hartd?sslmode=disable
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 reference-data
-- in database hartd
-- parameters: $1 = 'DeduplicationPolicies'
SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1;
-- when DeduplicationPolicies exists
-- parameters: $1 = 'Default'
SELECT COUNT(*) FROM "DeduplicationPolicies" WHERE "PolicyName" = $1;
-- when it exists and has no Default policy
-- parameters: $1 = 'Default', $2 = 0.95, $3 = true
INSERT INTO "DeduplicationPolicies" ("PolicyName", "SemanticThreshold", "IsActive") VALUES ($1, $2, $3);
-- the seed's default model is looked up, never registered
-- parameters: $1 = 'default-embedding'
SELECT "ModelId", "Dimension", "Metric" FROM "Models" WHERE "TenantId" = 1 AND "ModelName" = $1;
