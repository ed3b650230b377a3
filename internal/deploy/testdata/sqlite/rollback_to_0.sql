-- hartd deploy rollback --to 0 --dry-run: sqlite:///var/lib/hartd/hartd.db
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/2 procedures
-- not applicable: SQLite has no stored procedures: SQL-side clients use hartd's gRPC API (hybrid and exact search, projection) instead

-- ==== 2/2 migrations
-- in database /var/lib/hartd/hartd.db
SELECT Version, Name, Checksum, AppliedAt FROM HartdSchemaHistory ORDER BY Version;
-- roll back 0002_tenancy_billing_dedup when it is applied; with the DELETE after it, in one transaction
DROP TABLE IF EXISTS DeduplicationPolicies;
DROP TABLE IF EXISTS BillingUsageLedger;
DROP TABLE IF EXISTS BillingOperationRates;
DROP TABLE IF EXISTS BillingRatePlans;
DROP TABLE IF EXISTS ApiKeys;
-- parameters: ?1 = 2
DELETE FROM HartdSchemaHistory WHERE Version = ?;
-- roll back 0001_core when it is applied; with the DELETE after it, in one transaction
DROP TABLE SpatialAnchors;
DROP TABLE AtomEmbeddingsSpatialIndex;
DROP TABLE AtomEmbeddings;
DROP TABLE Atoms;
DROP TABLE Models;
DROP TABLE Tenants;
-- parameters: ?1 = 1
DELETE FROM HartdSchemaHistory WHERE Version = ?;
-- at version 0, the history table goes too
DROP TABLE IF EXISTS HartdSchemaHistory;
