-- API keys, the billing ledger and its rates, and deduplication policies.
-- Times are UTC, RFC 3339 with nine fraction digits (fixed width, so that
-- they order as text).

-- An API key identifies a tenant and a principal (KeyName). Only the
-- SHA-256 of the key is stored; KeyPrefix is its first characters, to tell
-- keys apart in listings.
CREATE TABLE ApiKeys (
    ApiKeyId  INTEGER PRIMARY KEY,
    TenantId  INTEGER NOT NULL REFERENCES Tenants (TenantId),
    KeyName   TEXT    NOT NULL,
    KeyPrefix TEXT    NOT NULL,
    KeyHash   BLOB    NOT NULL UNIQUE CHECK (length(KeyHash) = 32),
    CreatedAt TEXT    NOT NULL,
    RevokedAt TEXT
);

CREATE INDEX IX_ApiKeys_TenantId ON ApiKeys (TenantId);

-- A rate plan: DCU = round6(units x BaseRate x the operation's multiplier),
-- cost = round6(DCU x UnitPrice). A search costs 1 unit plus
-- DistanceUnitsPer1000 units per 1,000 exact distances it computed. A plan
-- with TenantId NULL applies to every tenant without a plan of its own.
CREATE TABLE BillingRatePlans (
    RatePlanId           INTEGER PRIMARY KEY,
    TenantId             INTEGER REFERENCES Tenants (TenantId),
    PlanName             TEXT    NOT NULL UNIQUE,
    BaseRate             REAL    NOT NULL CHECK (BaseRate >= 0),
    UnitPrice            REAL    NOT NULL CHECK (UnitPrice >= 0),
    DistanceUnitsPer1000 REAL    NOT NULL DEFAULT 0.01 CHECK (DistanceUnitsPer1000 >= 0),
    IsActive             INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE BillingOperationRates (
    RatePlanId INTEGER NOT NULL REFERENCES BillingRatePlans (RatePlanId),
    Operation  TEXT    NOT NULL,
    Multiplier REAL    NOT NULL CHECK (Multiplier >= 0),
    PRIMARY KEY (RatePlanId, Operation)
);

-- The original's defaults: base rate 0.01, unit price 0.00008 per DCU.
INSERT INTO BillingRatePlans (RatePlanId, TenantId, PlanName, BaseRate, UnitPrice, DistanceUnitsPer1000, IsActive)
VALUES (1, NULL, 'Default', 0.01, 0.00008, 0.01, 1);
INSERT INTO BillingOperationRates (RatePlanId, Operation, Multiplier) VALUES
    (1, 'create_model', 1.0), (1, 'insert', 1.0), (1, 'search', 1.0),
    (1, 'get', 1.0), (1, 'delete', 1.0), (1, 'project', 1.0);

CREATE TABLE BillingUsageLedger (
    LedgerId   INTEGER PRIMARY KEY,
    TenantId   INTEGER NOT NULL REFERENCES Tenants (TenantId),
    Principal  TEXT    NOT NULL,
    Operation  TEXT    NOT NULL,
    Units      REAL    NOT NULL,
    BaseRate   REAL    NOT NULL,
    Multiplier REAL    NOT NULL,
    Dcu        REAL    NOT NULL,
    TotalCost  REAL    NOT NULL,
    Metadata   TEXT,
    UsedAt     TEXT    NOT NULL
);

CREATE INDEX IX_BillingUsageLedger_TenantId_UsedAt ON BillingUsageLedger (TenantId, UsedAt);

-- Semantic deduplication: an item whose nearest embedding of the same model
-- and tenant has cosine similarity >= SemanticThreshold is a duplicate. A
-- tenant's active policy wins over the active policy with TenantId NULL.
CREATE TABLE DeduplicationPolicies (
    PolicyId          INTEGER PRIMARY KEY,
    TenantId          INTEGER REFERENCES Tenants (TenantId),
    PolicyName        TEXT    NOT NULL,
    SemanticThreshold REAL    NOT NULL CHECK (SemanticThreshold > 0 AND SemanticThreshold <= 1),
    IsActive          INTEGER NOT NULL DEFAULT 1,
    CreatedAt         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (TenantId, PolicyName)
);

INSERT INTO DeduplicationPolicies (PolicyName, SemanticThreshold, IsActive) VALUES ('Default', 0.95, 1);
