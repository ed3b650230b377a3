-- hartd deploy --dry-run: sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 migrations
-- in database Hartonomous
-- create the history table if it does not exist
IF OBJECT_ID(N'dbo.HartdSchemaHistory', N'U') IS NULL
CREATE TABLE dbo.HartdSchemaHistory (
    Version   INT           NOT NULL CONSTRAINT PK_HartdSchemaHistory PRIMARY KEY,
    Name      NVARCHAR(200) NOT NULL,
    Checksum  CHAR(64)      NOT NULL,
    AppliedAt NVARCHAR(40)  NOT NULL
)
GO
SELECT Version, Name, Checksum, AppliedAt FROM HartdSchemaHistory ORDER BY Version
GO
-- migration 0001_core (sha256 0f80a2833ca5), when version 1 is not in HartdSchemaHistory;
-- these statements and the INSERT after them run in one transaction
-- hartd core schema, SQL Server dialect (SQL Server 2022 or later at
-- compatibility level 160). It mirrors sql/sqlite/migrations/0001_core.up.sql
-- table for table and column for column; names follow the seed. Times are
-- UTC, DATETIME2(7). hartd deploy runs this file in one transaction,
-- batch by batch (GO lines separate the batches).

CREATE TABLE dbo.Tenants (
    TenantId   BIGINT        NOT NULL CONSTRAINT PK_Tenants PRIMARY KEY,
    TenantName NVARCHAR(200) NOT NULL CONSTRAINT UQ_Tenants_TenantName UNIQUE,
    CreatedAt  DATETIME2(7)  NOT NULL
);

-- Tenant 1 is the single tenant a server runs as while no API key exists.
INSERT INTO dbo.Tenants (TenantId, TenantName, CreatedAt)
VALUES (1, N'default', SYSUTCDATETIME());

CREATE TABLE dbo.Models (
    ModelId    BIGINT IDENTITY (1, 1) NOT NULL CONSTRAINT PK_Models PRIMARY KEY,
    TenantId   BIGINT        NOT NULL CONSTRAINT FK_Models_Tenants REFERENCES dbo.Tenants (TenantId),
    ModelName  NVARCHAR(128) NOT NULL,
    ModelType  NVARCHAR(50)  NOT NULL CONSTRAINT DF_Models_ModelType DEFAULT (N'embedding'),
    Dimension  INT           NOT NULL CONSTRAINT CK_Models_Dimension CHECK (Dimension BETWEEN 1 AND 4096),
    Metric     VARCHAR(10)   NOT NULL CONSTRAINT CK_Models_Metric CHECK (Metric IN ('cosine', 'l2')),
    AnchorSeed BIGINT        NOT NULL,
    IsActive   BIT           NOT NULL CONSTRAINT DF_Models_IsActive DEFAULT (1),
    CreatedAt  DATETIME2(7)  NOT NULL,
    CONSTRAINT UQ_Models_TenantId_ModelName UNIQUE (TenantId, ModelName)
);

-- Atom and embedding ids come from sequences, not IDENTITY: the store
-- reserves a batch's ids with sp_sequence_get_range and bulk-copies the rows
-- with their ids, so a batch's ids are known without reading them back.
CREATE SEQUENCE dbo.AtomIds AS BIGINT START WITH 1 INCREMENT BY 1 NO CYCLE CACHE 1000;
CREATE SEQUENCE dbo.EmbeddingIds AS BIGINT START WITH 1 INCREMENT BY 1 NO CYCLE CACHE 1000;
GO
CREATE TABLE dbo.Atoms (
    AtomId         BIGINT         NOT NULL CONSTRAINT PK_Atoms PRIMARY KEY
                                  CONSTRAINT DF_Atoms_AtomId DEFAULT (NEXT VALUE FOR dbo.AtomIds),
    TenantId       BIGINT         NOT NULL CONSTRAINT FK_Atoms_Tenants REFERENCES dbo.Tenants (TenantId),
    -- SHA-256 of the source type and the UTF-8 content; NULL without content.
    ContentHash    VARBINARY(32)  NULL,
    Content        NVARCHAR(MAX)  NULL,
    SourceUri      NVARCHAR(2048) NULL,
    SourceType     NVARCHAR(128)  NULL,
    Metadata       NVARCHAR(MAX)  NULL CONSTRAINT CK_Atoms_Metadata CHECK (Metadata IS NULL OR ISJSON(Metadata, OBJECT) = 1),
    ReferenceCount INT            NOT NULL CONSTRAINT DF_Atoms_ReferenceCount DEFAULT (1),
    CreatedAt      DATETIME2(7)   NOT NULL
);

CREATE INDEX IX_Atoms_ContentHash ON dbo.Atoms (TenantId, ContentHash);

-- One row per embedding. EmbeddingVector is float32 little-endian, Dimension
-- values, at most 4096 (16384 bytes: more than VARBINARY(n) allows, so MAX,
-- which stays in the row up to 8000 bytes). SpatialGeometry is the projected
-- point, SRID 0, with x and y (SQL Server's spatial indexes are 2-D) and z
-- as its Z; z is also in SpatialZ. The spatial columns are NULL until the
-- model's anchors are chosen.
CREATE TABLE dbo.AtomEmbeddings (
    EmbeddingId     BIGINT         NOT NULL CONSTRAINT PK_AtomEmbeddings PRIMARY KEY CLUSTERED
                                   CONSTRAINT DF_AtomEmbeddings_EmbeddingId DEFAULT (NEXT VALUE FOR dbo.EmbeddingIds),
    AtomId          BIGINT         NOT NULL CONSTRAINT FK_AtomEmbeddings_Atoms REFERENCES dbo.Atoms (AtomId),
    ModelId         BIGINT         NOT NULL CONSTRAINT FK_AtomEmbeddings_Models REFERENCES dbo.Models (ModelId),
    Dimension       INT            NOT NULL,
    EmbeddingVector VARBINARY(MAX) NOT NULL,
    SpatialGeometry GEOMETRY       NULL,
    SpatialX        FLOAT          NULL,
    SpatialY        FLOAT          NULL,
    SpatialZ        FLOAT          NULL,
    CreatedAt       DATETIME2(7)   NOT NULL,
    CONSTRAINT CK_AtomEmbeddings_VectorLength CHECK (Dimension BETWEEN 1 AND 4096 AND DATALENGTH(EmbeddingVector) = 4 * Dimension)
);

CREATE INDEX IX_AtomEmbeddings_Model ON dbo.AtomEmbeddings (ModelId, EmbeddingId);
CREATE INDEX IX_AtomEmbeddings_Atom ON dbo.AtomEmbeddings (AtomId);
GO
-- The spatial index over projected points. The bounding box is the range of
-- cosine models' points (unit vectors): x in [-1, 2], y in [-2, 2]; see
-- docs/deploy.md for the derivation. hartd deploy widens it when l2 models
-- hold points outside it. Points outside the box are still indexed (in the
-- grid's outer cell), so the box affects speed, never results.
SET ARITHABORT ON;
CREATE SPATIAL INDEX IX_AtomEmbeddings_SpatialGeometry ON dbo.AtomEmbeddings (SpatialGeometry)
USING GEOMETRY_GRID
WITH (
    BOUNDING_BOX = (XMIN = -1, YMIN = -2, XMAX = 2, YMAX = 2),
    GRIDS = (LEVEL_1 = HIGH, LEVEL_2 = HIGH, LEVEL_3 = HIGH, LEVEL_4 = HIGH),
    CELLS_PER_OBJECT = 16
);
GO
-- The three anchors of a model's projection. The vectors are copied so that
-- deleting the anchor embeddings never changes the projection.
CREATE TABLE dbo.SpatialAnchors (
    ModelId      BIGINT         NOT NULL CONSTRAINT FK_SpatialAnchors_Models REFERENCES dbo.Models (ModelId),
    AnchorIndex  TINYINT        NOT NULL CONSTRAINT CK_SpatialAnchors_AnchorIndex CHECK (AnchorIndex BETWEEN 1 AND 3),
    EmbeddingId  BIGINT         NULL,
    AnchorVector VARBINARY(MAX) NOT NULL,
    ChosenAt     DATETIME2(7)   NOT NULL,
    CONSTRAINT PK_SpatialAnchors PRIMARY KEY (ModelId, AnchorIndex)
);
GO
-- parameters: @p1 = 1, @p2 = 'core', @p3 = '0f80a2833ca5b46817278791c1d4f29db927ccb7b3bcb8ad0f69e5dd65d8b566', @p4 = '<UTC time, RFC 3339>'
INSERT INTO HartdSchemaHistory (Version, Name, Checksum, AppliedAt) VALUES (@p1, @p2, @p3, @p4)
GO
-- migration 0002_tenancy_billing_dedup (sha256 1d2844b018fa), when version 2 is not in HartdSchemaHistory;
-- these statements and the INSERT after them run in one transaction
-- API keys, the billing ledger and its rates, and deduplication policies.
-- It mirrors sql/sqlite/migrations/0002_tenancy_billing_dedup.up.sql.

-- An API key identifies a tenant and a principal (KeyName). Only the
-- SHA-256 of the key is stored; KeyPrefix is its first characters, to tell
-- keys apart in listings.
CREATE TABLE dbo.ApiKeys (
    ApiKeyId  BIGINT IDENTITY (1, 1) NOT NULL CONSTRAINT PK_ApiKeys PRIMARY KEY,
    TenantId  BIGINT         NOT NULL CONSTRAINT FK_ApiKeys_Tenants REFERENCES dbo.Tenants (TenantId),
    KeyName   NVARCHAR(200)  NOT NULL,
    KeyPrefix NVARCHAR(32)   NOT NULL,
    KeyHash   VARBINARY(32)  NOT NULL CONSTRAINT UQ_ApiKeys_KeyHash UNIQUE,
    CreatedAt DATETIME2(7)   NOT NULL,
    RevokedAt DATETIME2(7)   NULL
);

CREATE INDEX IX_ApiKeys_TenantId ON dbo.ApiKeys (TenantId);

-- DCU = round6(units x BaseRate x the operation's multiplier),
-- cost = round6(DCU x UnitPrice). A search costs 1 unit plus
-- DistanceUnitsPer1000 units per 1,000 exact distances. A plan with
-- TenantId NULL applies to every tenant without a plan of its own.
CREATE TABLE dbo.BillingRatePlans (
    RatePlanId           BIGINT        NOT NULL CONSTRAINT PK_BillingRatePlans PRIMARY KEY,
    TenantId             BIGINT        NULL CONSTRAINT FK_BillingRatePlans_Tenants REFERENCES dbo.Tenants (TenantId),
    PlanName             NVARCHAR(200) NOT NULL CONSTRAINT UQ_BillingRatePlans_PlanName UNIQUE,
    BaseRate             DECIMAL(18,6) NOT NULL,
    UnitPrice            DECIMAL(18,8) NOT NULL,
    DistanceUnitsPer1000 DECIMAL(18,6) NOT NULL CONSTRAINT DF_BillingRatePlans_Distance DEFAULT (0.01),
    IsActive             BIT           NOT NULL CONSTRAINT DF_BillingRatePlans_IsActive DEFAULT (1)
);

CREATE TABLE dbo.BillingOperationRates (
    RatePlanId BIGINT        NOT NULL CONSTRAINT FK_BillingOperationRates_Plans REFERENCES dbo.BillingRatePlans (RatePlanId),
    Operation  NVARCHAR(64)  NOT NULL,
    Multiplier DECIMAL(18,6) NOT NULL,
    CONSTRAINT PK_BillingOperationRates PRIMARY KEY (RatePlanId, Operation)
);

-- The original's defaults: base rate 0.01, unit price 0.00008 per DCU.
INSERT INTO dbo.BillingRatePlans (RatePlanId, TenantId, PlanName, BaseRate, UnitPrice, DistanceUnitsPer1000, IsActive)
VALUES (1, NULL, N'Default', 0.01, 0.00008, 0.01, 1);
INSERT INTO dbo.BillingOperationRates (RatePlanId, Operation, Multiplier) VALUES
    (1, N'create_model', 1.0), (1, N'insert', 1.0), (1, N'search', 1.0),
    (1, N'get', 1.0), (1, N'delete', 1.0), (1, N'project', 1.0);

CREATE TABLE dbo.BillingUsageLedger (
    LedgerId   BIGINT IDENTITY (1, 1) NOT NULL CONSTRAINT PK_BillingUsageLedger PRIMARY KEY,
    TenantId   BIGINT         NOT NULL CONSTRAINT FK_BillingUsageLedger_Tenants REFERENCES dbo.Tenants (TenantId),
    Principal  NVARCHAR(200)  NOT NULL,
    Operation  NVARCHAR(64)   NOT NULL,
    Units      DECIMAL(18,6)  NOT NULL,
    BaseRate   DECIMAL(18,6)  NOT NULL,
    Multiplier DECIMAL(18,6)  NOT NULL,
    Dcu        DECIMAL(18,6)  NOT NULL,
    TotalCost  DECIMAL(18,6)  NOT NULL,
    Metadata   NVARCHAR(MAX)  NULL,
    UsedAt     DATETIME2(7)   NOT NULL
);

CREATE INDEX IX_BillingUsageLedger_TenantId_UsedAt ON dbo.BillingUsageLedger (TenantId, UsedAt);

-- Semantic deduplication: an item whose nearest embedding of the same model
-- and tenant has cosine similarity >= SemanticThreshold is a duplicate. A
-- tenant's active policy wins over the active policy with TenantId NULL.
CREATE TABLE dbo.DeduplicationPolicies (
    PolicyId          BIGINT IDENTITY (1, 1) NOT NULL CONSTRAINT PK_DeduplicationPolicies PRIMARY KEY,
    TenantId          BIGINT        NULL CONSTRAINT FK_DeduplicationPolicies_Tenants REFERENCES dbo.Tenants (TenantId),
    PolicyName        NVARCHAR(200) NOT NULL,
    SemanticThreshold FLOAT         NOT NULL CONSTRAINT CK_DeduplicationPolicies_Threshold CHECK (SemanticThreshold > 0 AND SemanticThreshold <= 1),
    IsActive          BIT           NOT NULL CONSTRAINT DF_DeduplicationPolicies_IsActive DEFAULT (1),
    CreatedAt         DATETIME2(7)  NOT NULL CONSTRAINT DF_DeduplicationPolicies_CreatedAt DEFAULT (SYSUTCDATETIME()),
    CONSTRAINT UQ_DeduplicationPolicies_TenantId_PolicyName UNIQUE (TenantId, PolicyName)
);

INSERT INTO dbo.DeduplicationPolicies (PolicyName, SemanticThreshold, IsActive) VALUES (N'Default', 0.95, 1);
GO
-- parameters: @p1 = 2, @p2 = 'tenancy_billing_dedup', @p3 = '1d2844b018fa32fcaf7e5525003dd62db91bef61d7cf93b958e48da9e16f6250', @p4 = '<UTC time, RFC 3339>'
INSERT INTO HartdSchemaHistory (Version, Name, Checksum, AppliedAt) VALUES (@p1, @p2, @p3, @p4)
GO
-- the spatial index's bounding box against the one the data needs (docs/deploy.md)
SELECT t.bounding_box_xmin, t.bounding_box_ymin, t.bounding_box_xmax, t.bounding_box_ymax
FROM sys.spatial_index_tessellations AS t
JOIN sys.indexes AS i ON i.object_id = t.object_id AND i.index_id = t.index_id
WHERE t.object_id = OBJECT_ID(N'dbo.AtomEmbeddings') AND i.name = N'IX_AtomEmbeddings_SpatialGeometry'
GO
SELECT MIN(e.SpatialX), MIN(e.SpatialY), MAX(e.SpatialX), MAX(e.SpatialY), COUNT_BIG(e.SpatialX)
FROM dbo.AtomEmbeddings AS e
JOIN dbo.Models AS m ON m.ModelId = e.ModelId
WHERE m.Metric = 'l2' AND e.SpatialX IS NOT NULL
GO
-- when the boxes differ: re-create the index with the data's box, in a transaction, e.g. for l2 points in [-3, 5] × [-1, 1]
SET ARITHABORT ON;
CREATE SPATIAL INDEX IX_AtomEmbeddings_SpatialGeometry ON dbo.AtomEmbeddings (SpatialGeometry)
USING GEOMETRY_GRID
WITH (
    BOUNDING_BOX = (XMIN = -4, YMIN = -2, XMAX = 8, YMAX = 2),
    GRIDS = (LEVEL_1 = HIGH, LEVEL_2 = HIGH, LEVEL_3 = HIGH, LEVEL_4 = HIGH),
    CELLS_PER_OBJECT = 16,
    DROP_EXISTING = ON
);
GO
