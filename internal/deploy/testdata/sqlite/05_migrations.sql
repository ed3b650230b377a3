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
