-- hartd deploy --dry-run: sqlite:///var/lib/hartd/hartd.db
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 migrations
-- in database /var/lib/hartd/hartd.db
-- create the history table if it does not exist
CREATE TABLE IF NOT EXISTS HartdSchemaHistory (
    Version   INTEGER PRIMARY KEY,
    Name      TEXT NOT NULL,
    Checksum  TEXT NOT NULL,
    AppliedAt TEXT NOT NULL
);
SELECT Version, Name, Checksum, AppliedAt FROM HartdSchemaHistory ORDER BY Version;
-- migration 0001_core (sha256 9fa03da27491), when version 1 is not in HartdSchemaHistory;
-- these statements and the INSERT after them run in one transaction
-- hartd core schema, SQLite dialect. Names follow the seed (dbo.Atoms,
-- dbo.AtomEmbeddings, ...). Times are UTC, RFC 3339 with nanoseconds.

CREATE TABLE Tenants (
    TenantId   INTEGER PRIMARY KEY,
    TenantName TEXT    NOT NULL UNIQUE,
    CreatedAt  TEXT    NOT NULL
);

-- Tenant 1 is the single tenant a server runs as while no API key exists.
INSERT INTO Tenants (TenantId, TenantName, CreatedAt)
VALUES (1, 'default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE Models (
    ModelId    INTEGER PRIMARY KEY,
    TenantId   INTEGER NOT NULL REFERENCES Tenants (TenantId),
    ModelName  TEXT    NOT NULL,
    ModelType  TEXT    NOT NULL DEFAULT 'embedding',
    Dimension  INTEGER NOT NULL CHECK (Dimension BETWEEN 1 AND 4096),
    Metric     TEXT    NOT NULL CHECK (Metric IN ('cosine', 'l2')),
    AnchorSeed INTEGER NOT NULL,
    IsActive   INTEGER NOT NULL DEFAULT 1,
    CreatedAt  TEXT    NOT NULL,
    UNIQUE (TenantId, ModelName)
);

-- AUTOINCREMENT: an id is never handed out again, even after the row with
-- the highest id is deleted. The runtime core relies on ids that only grow.
CREATE TABLE Atoms (
    AtomId         INTEGER PRIMARY KEY AUTOINCREMENT,
    TenantId       INTEGER NOT NULL REFERENCES Tenants (TenantId),
    -- SHA-256 of the source type and the UTF-8 content; NULL without content.
    ContentHash    BLOB,
    Content        TEXT,
    SourceUri      TEXT,
    SourceType     TEXT,
    Metadata       TEXT CHECK (Metadata IS NULL OR json_type(Metadata) = 'object'),
    ReferenceCount INTEGER NOT NULL DEFAULT 1,
    CreatedAt      TEXT    NOT NULL
);

CREATE INDEX IX_Atoms_ContentHash ON Atoms (TenantId, ContentHash);

-- One row per embedding. EmbeddingVector is float32 little-endian, Dimension
-- values. SpatialGeometry is the projected point (x y) as OGC WKB; z travels
-- in SpatialZ, as on SQL Server whose spatial indexes are 2-D. All four
-- spatial columns are NULL until the model's anchors are chosen.
CREATE TABLE AtomEmbeddings (
    EmbeddingId     INTEGER PRIMARY KEY AUTOINCREMENT,
    AtomId          INTEGER NOT NULL REFERENCES Atoms (AtomId),
    ModelId         INTEGER NOT NULL REFERENCES Models (ModelId),
    Dimension       INTEGER NOT NULL,
    EmbeddingVector BLOB    NOT NULL CHECK (length(EmbeddingVector) = 4 * Dimension),
    SpatialGeometry BLOB,
    SpatialX        REAL,
    SpatialY        REAL,
    SpatialZ        REAL,
    CreatedAt       TEXT    NOT NULL
);

CREATE INDEX IX_AtomEmbeddings_Model ON AtomEmbeddings (ModelId, EmbeddingId);
CREATE INDEX IX_AtomEmbeddings_Atom ON AtomEmbeddings (AtomId);

-- The spatial index over projected points: an R*Tree keyed by EmbeddingId.
-- R*Tree coordinates are float32, rounded outward, so a box query on it is a
-- superset that callers refine with SpatialX/Y/Z.
CREATE VIRTUAL TABLE AtomEmbeddingsSpatialIndex USING rtree (
    EmbeddingId,
    MinX, MaxX,
    MinY, MaxY,
    MinZ, MaxZ
);

-- The three anchors of a model's projection. The vectors are copied so that
-- deleting the anchor embeddings never changes the projection.
CREATE TABLE SpatialAnchors (
    ModelId      INTEGER NOT NULL REFERENCES Models (ModelId),
    AnchorIndex  INTEGER NOT NULL CHECK (AnchorIndex BETWEEN 1 AND 3),
    EmbeddingId  INTEGER,
    AnchorVector BLOB    NOT NULL,
    ChosenAt     TEXT    NOT NULL,
    PRIMARY KEY (ModelId, AnchorIndex)
);
-- parameters: ?1 = 1, ?2 = 'core', ?3 = '9fa03da27491e0450677c10dbb4d2cfb39047d03cc42d83253a85f0c41c624ce', ?4 = '<UTC time, RFC 3339>'
INSERT INTO HartdSchemaHistory (Version, Name, Checksum, AppliedAt) VALUES (?, ?, ?, ?);
-- migration 0002_tenancy_billing_dedup (sha256 aafcdecb331c), when version 2 is not in HartdSchemaHistory;
-- these statements and the INSERT after them run in one transaction
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
-- parameters: ?1 = 2, ?2 = 'tenancy_billing_dedup', ?3 = 'aafcdecb331cd9905191fd8ac0aef096e3b54908367111d2a5de8cefcf46871f', ?4 = '<UTC time, RFC 3339>'
INSERT INTO HartdSchemaHistory (Version, Name, Checksum, AppliedAt) VALUES (?, ?, ?, ?);
