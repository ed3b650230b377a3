-- hartd deploy rollback --to 0 --dry-run: postgres://hartd:xxxxx@127.0.0.1:5432/hartd?sslmode=disable
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/2 procedures
-- when the schema is above version 0 (or the rollback goes to 0): the procedures are written against the newest schema
-- in database hartd
DROP FUNCTION IF EXISTS hartd_initialize_spatial_anchors;
DROP FUNCTION IF EXISTS hartd_hybrid_search;
DROP FUNCTION IF EXISTS hartd_exact_search;
DROP FUNCTION IF EXISTS hartd_project_vector;
DROP FUNCTION IF EXISTS hartd_project;
DROP FUNCTION IF EXISTS hartd_trilaterate;
DROP FUNCTION IF EXISTS hartd_check_vector;
DROP FUNCTION IF EXISTS hartd_compare;
DROP FUNCTION IF EXISTS hartd_float32s;
DROP FUNCTION IF EXISTS hartd_float32_array;
DROP TABLE IF EXISTS HartdProcedureHistory;

-- ==== 2/2 migrations
-- in database hartd
SELECT Version, Name, Checksum, AppliedAt FROM HartdSchemaHistory ORDER BY Version;
-- roll back 0002_tenancy_billing_dedup when it is applied; with the DELETE after it, in one transaction
DROP TABLE IF EXISTS "DeduplicationPolicies";
DROP TABLE IF EXISTS "BillingUsageLedger";
DROP TABLE IF EXISTS "BillingOperationRates";
DROP TABLE IF EXISTS "BillingRatePlans";
DROP TABLE IF EXISTS "ApiKeys";
-- parameters: $1 = 2
DELETE FROM HartdSchemaHistory WHERE Version = $1;
-- roll back 0001_core when it is applied; with the DELETE after it, in one transaction
-- Removes every object of 0001_core. The postgis extension stays: other
-- schemas or applications in the database may use it, and dropping it needs
-- a superuser. Drop it by hand (DROP EXTENSION postgis;) if nothing else does.
DROP TABLE IF EXISTS "SpatialAnchors";
DROP TABLE IF EXISTS "AtomEmbeddings";
DROP TABLE IF EXISTS "Atoms";
DROP TABLE IF EXISTS "Models";
DROP TABLE IF EXISTS "Tenants";
-- parameters: $1 = 1
DELETE FROM HartdSchemaHistory WHERE Version = $1;
-- at version 0, the history table goes too
DROP TABLE IF EXISTS HartdSchemaHistory;
