-- hartd deploy rollback --to 0 --dry-run: sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/2 procedures
-- when the schema is above version 0 (or the rollback goes to 0): the procedures are written against the newest schema
-- in database Hartonomous
DROP PROCEDURE IF EXISTS dbo.sp_InitializeSpatialAnchors
GO
DROP PROCEDURE IF EXISTS dbo.sp_HybridSearch
GO
DROP PROCEDURE IF EXISTS dbo.sp_ExactVectorSearch
GO
DROP PROCEDURE IF EXISTS dbo.sp_ProjectVector
GO
DROP FUNCTION IF EXISTS dbo.HartdProject
GO
DROP FUNCTION IF EXISTS dbo.HartdTrilaterate
GO
DROP PROCEDURE IF EXISTS dbo.HartdCheckVector
GO
DROP FUNCTION IF EXISTS dbo.HartdCompare
GO
DROP FUNCTION IF EXISTS dbo.HartdFloat32s
GO
DROP TABLE IF EXISTS dbo.HartdProcedureHistory
GO

-- ==== 2/2 migrations
-- in database Hartonomous
SELECT Version, Name, Checksum, AppliedAt FROM HartdSchemaHistory ORDER BY Version
GO
-- roll back 0002_tenancy_billing_dedup when it is applied; with the DELETE after it, in one transaction
DROP TABLE dbo.DeduplicationPolicies;
DROP TABLE dbo.BillingUsageLedger;
DROP TABLE dbo.BillingOperationRates;
DROP TABLE dbo.BillingRatePlans;
DROP TABLE dbo.ApiKeys;
GO
-- parameters: @p1 = 2
DELETE FROM HartdSchemaHistory WHERE Version = @p1
GO
-- roll back 0001_core when it is applied; with the DELETE after it, in one transaction
DROP TABLE dbo.SpatialAnchors;
DROP TABLE dbo.AtomEmbeddings;
DROP TABLE dbo.Atoms;
DROP TABLE dbo.Models;
DROP TABLE dbo.Tenants;
DROP SEQUENCE dbo.EmbeddingIds;
DROP SEQUENCE dbo.AtomIds;
GO
-- parameters: @p1 = 1
DELETE FROM HartdSchemaHistory WHERE Version = @p1
GO
-- at version 0, the history table goes too
DROP TABLE IF EXISTS dbo.HartdSchemaHistory
GO
