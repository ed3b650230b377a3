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
