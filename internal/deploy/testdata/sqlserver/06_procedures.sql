-- hartd deploy --dry-run: sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 procedures
-- in database Hartonomous
-- create the procedure history if it does not exist
IF OBJECT_ID(N'dbo.HartdProcedureHistory', N'U') IS NULL
CREATE TABLE dbo.HartdProcedureHistory (
    Name      NVARCHAR(200) NOT NULL CONSTRAINT PK_HartdProcedureHistory PRIMARY KEY,
    Checksum  CHAR(64)      NOT NULL,
    AppliedAt NVARCHAR(40)  NOT NULL
)
GO
SELECT Name, Checksum FROM dbo.HartdProcedureHistory
GO
-- parameters: @p1 = 'dbo.HartdFloat32s'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
-- parameters: @p1 = 'dbo.HartdCompare'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
-- parameters: @p1 = 'dbo.HartdCheckVector'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
-- 0001_vectors.sql (sha256 1d646bce8fac), when its checksum in HartdProcedureHistory differs or one of its objects is missing;
-- these statements and the history row after them run in one transaction
-- Vector functions for SQL-side clients (SQL Server 2022 or later, at
-- compatibility level 160 for GENERATE_SERIES).
--
-- hartd stores a vector as its float32 values, little-endian, 4 bytes each,
-- in a VARBINARY column (AtomEmbeddings.EmbeddingVector,
-- SpatialAnchors.AnchorVector); that works on every SQL Server hartd
-- supports, where SQL Server 2025's VECTOR type would not. T-SQL cannot
-- convert bytes to REAL, so HartdFloat32s decodes each value from its IEEE
-- 754 fields: sign, an 8-bit exponent E and a 23-bit fraction F, the value
-- being (-1)^sign * (2^23 + F) * 2^(E - 150), or F * 2^-149 when E = 0.
-- The result is exact in FLOAT (float64). E = 255 (NaN, infinity) yields
-- NULL: hartd never stores such values.
CREATE OR ALTER FUNCTION dbo.HartdFloat32s (@v VARBINARY(MAX))
RETURNS TABLE
AS RETURN
SELECT g.value AS Ordinal,
       CASE
           WHEN f.E = 255 THEN NULL
           WHEN f.E = 0 THEN f.S * f.F * POWER(CAST(2 AS FLOAT), -149)
           ELSE f.S * (f.F + 8388608) * POWER(CAST(2 AS FLOAT), f.E - 150)
       END AS Value
FROM GENERATE_SERIES(0, CAST(DATALENGTH(@v) / 4 AS INT) - 1) AS g
CROSS APPLY (
    -- The 4 bytes of value g, reversed: BINARY converts to INT big-endian.
    SELECT CAST(CAST(SUBSTRING(@v, 4 * g.value + 4, 1) + SUBSTRING(@v, 4 * g.value + 3, 1)
                   + SUBSTRING(@v, 4 * g.value + 2, 1) + SUBSTRING(@v, 4 * g.value + 1, 1) AS BINARY(4)) AS INT) AS Bits
) AS b
CROSS APPLY (
    SELECT CASE WHEN b.Bits < 0 THEN CAST(-1 AS FLOAT) ELSE CAST(1 AS FLOAT) END AS S,
           (b.Bits & 2139095040) / 8388608 AS E, -- 0x7F800000, 2^23
           b.Bits & 8388607 AS F                 -- 0x007FFFFF
) AS f;
GO
-- The sums that every metric needs, over two vectors of equal length:
-- the dot product, the squared Euclidean distance and both squared norms.
-- A cosine model's similarity is Dot / SQRT(NormA2 * NormB2); an l2 model's
-- distance is SQRT(SquaredDistance).
CREATE OR ALTER FUNCTION dbo.HartdCompare (@a VARBINARY(MAX), @b VARBINARY(MAX))
RETURNS TABLE
AS RETURN
SELECT COUNT(*) AS Dimension,
       SUM(a.Value * b.Value) AS Dot,
       SUM(SQUARE(a.Value - b.Value)) AS SquaredDistance,
       SUM(SQUARE(a.Value)) AS NormA2,
       SUM(SQUARE(b.Value)) AS NormB2
FROM dbo.HartdFloat32s(@a) AS a
JOIN dbo.HartdFloat32s(@b) AS b ON b.Ordinal = a.Ordinal;
GO
-- Raises an error unless @Vector fits the active model @ModelId: 4 bytes
-- per value, Dimension values, all finite, and not all zero for a cosine
-- model (which has no direction).
CREATE OR ALTER PROCEDURE dbo.HartdCheckVector
    @ModelId BIGINT,
    @Vector  VARBINARY(MAX)
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Dimension INT, @Metric VARCHAR(10), @Message NVARCHAR(2048);
    SELECT @Dimension = Dimension, @Metric = Metric FROM dbo.Models WHERE ModelId = @ModelId AND IsActive = 1;
    IF @Dimension IS NULL
    BEGIN
        SET @Message = CONCAT(N'hartd: no active model with id ', @ModelId);
        THROW 50001, @Message, 1;
    END;
    IF @Vector IS NULL OR DATALENGTH(@Vector) <> 4 * @Dimension
    BEGIN
        SET @Message = CONCAT(N'hartd: the vector has ', DATALENGTH(@Vector), N' bytes; model ', @ModelId,
                              N' takes ', @Dimension, N' float32 values, ', 4 * @Dimension, N' bytes');
        THROW 50002, @Message, 1;
    END;
    IF EXISTS (SELECT 1 FROM dbo.HartdFloat32s(@Vector) WHERE Value IS NULL)
        THROW 50004, N'hartd: the vector holds a NaN or an infinity', 1;
    IF @Metric = 'cosine' AND NOT EXISTS (SELECT 1 FROM dbo.HartdFloat32s(@Vector) WHERE Value <> 0)
        THROW 50004, N'hartd: a cosine model cannot take the zero vector', 1;
END;
GO
-- parameters: @p1 = '0001_vectors.sql', @p2 = '1d646bce8fac0da96d994e131ae3157034161f9831e646e470139b30d3cb67ed', @p3 = '<UTC time, RFC 3339>'
DELETE FROM dbo.HartdProcedureHistory WHERE Name = @p1;
INSERT INTO dbo.HartdProcedureHistory (Name, Checksum, AppliedAt) VALUES (@p1, @p2, @p3)
GO
-- parameters: @p1 = 'dbo.HartdTrilaterate'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
-- parameters: @p1 = 'dbo.HartdProject'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
-- parameters: @p1 = 'dbo.sp_ProjectVector'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
-- 0002_projection.sql (sha256 fae86c5c3b31), when its checksum in HartdProcedureHistory differs or one of its objects is missing;
-- these statements and the history row after them run in one transaction
-- The trilateration projection of DESIGN.md, for SQL-side clients. hartd
-- itself projects in Go (internal/spatial); these functions give the same
-- point up to float64 rounding.
--
-- From the squared distances R1, R2, R3 of a vector to the anchors and the
-- anchors' squared pairwise distances D12, D13, D23: A1 sits at (0, 0, 0),
-- A2 at (d12, 0, 0), A3 at (i, j, 0) with i = (d13² + d12² − d23²)/(2·d12)
-- and j = √(d13² − i²), and
--   x = (r1² − r2² + d12²) / (2·d12)
--   y = (r1² − r3² + i² + j²) / (2·j) − (i/j)·x
--   z = √max(0, r1² − x² − y²)
CREATE OR ALTER FUNCTION dbo.HartdTrilaterate (
    @R1 FLOAT, @R2 FLOAT, @R3 FLOAT, @D12 FLOAT, @D13 FLOAT, @D23 FLOAT)
RETURNS TABLE
AS RETURN
SELECT px.X, py.Y,
       SQRT(CASE WHEN @R1 - px.X * px.X - py.Y * py.Y > 0 THEN @R1 - px.X * px.X - py.Y * py.Y ELSE 0 END) AS Z
FROM (SELECT SQRT(@D12) AS D) AS k
CROSS APPLY (SELECT (@D13 + @D12 - @D23) / (2 * k.D) AS I) AS fi
CROSS APPLY (SELECT SQRT(CASE WHEN @D13 - fi.I * fi.I > 0 THEN @D13 - fi.I * fi.I ELSE 0 END) AS J) AS fj
CROSS APPLY (SELECT (@R1 - @R2 + @D12) / (2 * k.D) AS X) AS px
CROSS APPLY (SELECT (@R1 - @R3 + fi.I * fi.I + fj.J * fj.J) / (2 * fj.J) - (fi.I / fj.J) * px.X AS Y) AS py;
GO
-- The point of @Vector in model @ModelId's projection; no row while the
-- model has no anchors. A cosine model's vector is taken normalized, as
-- hartd stores it: |v/|v| − A|² = 1 − 2·v·A/|v| + |A|².
CREATE OR ALTER FUNCTION dbo.HartdProject (@ModelId BIGINT, @Vector VARBINARY(MAX))
RETURNS TABLE
AS RETURN
WITH a AS (
    SELECT s.AnchorIndex, s.AnchorVector
    FROM dbo.SpatialAnchors AS s
    WHERE s.ModelId = @ModelId
),
r AS (
    SELECT MAX(CASE WHEN a.AnchorIndex = 1 THEN q.R END) AS R1,
           MAX(CASE WHEN a.AnchorIndex = 2 THEN q.R END) AS R2,
           MAX(CASE WHEN a.AnchorIndex = 3 THEN q.R END) AS R3
    FROM a
    JOIN dbo.Models AS m ON m.ModelId = @ModelId
    CROSS APPLY dbo.HartdCompare(@Vector, a.AnchorVector) AS c
    CROSS APPLY (SELECT CASE WHEN m.Metric = 'cosine'
                             THEN 1 - 2 * c.Dot / SQRT(c.NormA2) + c.NormB2
                             ELSE c.SquaredDistance END AS R) AS q
),
d AS (
    SELECT MAX(CASE WHEN x.AnchorIndex = 1 AND y.AnchorIndex = 2 THEN c.SquaredDistance END) AS D12,
           MAX(CASE WHEN x.AnchorIndex = 1 AND y.AnchorIndex = 3 THEN c.SquaredDistance END) AS D13,
           MAX(CASE WHEN x.AnchorIndex = 2 AND y.AnchorIndex = 3 THEN c.SquaredDistance END) AS D23
    FROM a AS x
    JOIN a AS y ON x.AnchorIndex < y.AnchorIndex
    CROSS APPLY dbo.HartdCompare(x.AnchorVector, y.AnchorVector) AS c
)
SELECT t.X, t.Y, t.Z
FROM r CROSS JOIN d
CROSS APPLY dbo.HartdTrilaterate(r.R1, r.R2, r.R3, d.D12, d.D13, d.D23) AS t
WHERE r.R1 IS NOT NULL AND r.R2 IS NOT NULL AND r.R3 IS NOT NULL;
GO
-- Projects one vector: the point as output parameters and as a result row.
CREATE OR ALTER PROCEDURE dbo.sp_ProjectVector
    @ModelId BIGINT,
    @Vector  VARBINARY(MAX),
    @X       FLOAT = NULL OUTPUT,
    @Y       FLOAT = NULL OUTPUT,
    @Z       FLOAT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    EXEC dbo.HartdCheckVector @ModelId, @Vector;
    SELECT @X = p.X, @Y = p.Y, @Z = p.Z FROM dbo.HartdProject(@ModelId, @Vector) AS p;
    IF @X IS NULL
        THROW 50003, N'hartd: the model has no anchors yet (hartd chooses them once the model holds three distinct vectors; or EXEC dbo.sp_InitializeSpatialAnchors)', 1;
    SELECT @X AS X, @Y AS Y, @Z AS Z;
END;
GO
-- parameters: @p1 = '0002_projection.sql', @p2 = 'fae86c5c3b314d743a85c9f67a662ae26c11abe63d4160cc5ad26faa67c41f2d', @p3 = '<UTC time, RFC 3339>'
DELETE FROM dbo.HartdProcedureHistory WHERE Name = @p1;
INSERT INTO dbo.HartdProcedureHistory (Name, Checksum, AppliedAt) VALUES (@p1, @p2, @p3)
GO
-- parameters: @p1 = 'dbo.sp_ExactVectorSearch'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
-- parameters: @p1 = 'dbo.sp_HybridSearch'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
-- 0003_search.sql (sha256 adcd498826ef), when its checksum in HartdProcedureHistory differs or one of its objects is missing;
-- these statements and the history row after them run in one transaction
-- Search procedures for SQL-side clients. hartd's own search (gRPC) is the
-- fast path; these decode vectors in T-SQL and are meant for ad-hoc use and
-- small models. Each result row carries Score in hartd's sense (cosine
-- similarity for cosine models, higher is nearer; Euclidean distance for
-- l2 models) and Distance (1 − similarity, or the Euclidean distance: lower
-- is nearer). Ties are broken by the lower EmbeddingId.

-- Every embedding of the model, compared exactly: recall 1.
CREATE OR ALTER PROCEDURE dbo.sp_ExactVectorSearch
    @ModelId     BIGINT,
    @QueryVector VARBINARY(MAX),
    @TopK        INT = 10
AS
BEGIN
    SET NOCOUNT ON;
    EXEC dbo.HartdCheckVector @ModelId, @QueryVector;
    IF @TopK IS NULL OR @TopK < 1 OR @TopK > 1000
        THROW 50005, N'hartd: @TopK must be between 1 and 1000', 1;
    DECLARE @Cosine BIT = (SELECT CASE WHEN Metric = 'cosine' THEN 1 ELSE 0 END FROM dbo.Models WHERE ModelId = @ModelId);
    DECLARE @QueryNorm FLOAT = (SELECT SQRT(SUM(SQUARE(Value))) FROM dbo.HartdFloat32s(@QueryVector));
    SELECT TOP (@TopK)
           e.EmbeddingId, e.AtomId, a.Content, a.SourceUri, a.SourceType, a.Metadata,
           s.Score, s.Distance
    FROM dbo.AtomEmbeddings AS e
    JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
    CROSS APPLY dbo.HartdCompare(@QueryVector, e.EmbeddingVector) AS c
    CROSS APPLY (SELECT CASE WHEN @Cosine = 1 THEN c.Dot / @QueryNorm ELSE SQRT(c.SquaredDistance) END AS Score,
                        CASE WHEN @Cosine = 1 THEN 1 - c.Dot / @QueryNorm ELSE SQRT(c.SquaredDistance) END AS Distance) AS s
    WHERE e.ModelId = @ModelId
    ORDER BY s.Distance, e.EmbeddingId;
END;
GO
-- The seed's two steps: the @SpatialCandidates embeddings nearest to the
-- query's projected point in (x, y), a nearest-neighbour query that the
-- spatial index answers, then the @FinalTopK of those by exact distance.
-- @QueryPoint, when given, replaces the query's projection. Its recall
-- depends on how much of the neighbourhood survives the 2-D projection:
-- measure it against sp_ExactVectorSearch before relying on it.
CREATE OR ALTER PROCEDURE dbo.sp_HybridSearch
    @ModelId           BIGINT,
    @QueryVector       VARBINARY(MAX),
    @SpatialCandidates INT = 100,
    @FinalTopK         INT = 10,
    @QueryPoint        GEOMETRY = NULL
AS
BEGIN
    SET NOCOUNT ON;
    EXEC dbo.HartdCheckVector @ModelId, @QueryVector;
    IF @FinalTopK IS NULL OR @FinalTopK < 1 OR @FinalTopK > 1000
        THROW 50005, N'hartd: @FinalTopK must be between 1 and 1000', 1;
    IF @SpatialCandidates IS NULL OR @SpatialCandidates < @FinalTopK OR @SpatialCandidates > 1048576
        THROW 50005, N'hartd: @SpatialCandidates must be between @FinalTopK and 1048576', 1;
    IF @QueryPoint IS NULL
        SELECT @QueryPoint = geometry::Point(p.X, p.Y, 0) FROM dbo.HartdProject(@ModelId, @QueryVector) AS p;
    IF @QueryPoint IS NULL
        THROW 50003, N'hartd: the model has no anchors yet, so no point to search around (or pass @QueryPoint)', 1;
    DECLARE @Cosine BIT = (SELECT CASE WHEN Metric = 'cosine' THEN 1 ELSE 0 END FROM dbo.Models WHERE ModelId = @ModelId);
    DECLARE @QueryNorm FLOAT = (SELECT SQRT(SUM(SQUARE(Value))) FROM dbo.HartdFloat32s(@QueryVector));

    DECLARE @Candidates TABLE (EmbeddingId BIGINT NOT NULL PRIMARY KEY, SpatialDistance FLOAT NOT NULL);
    INSERT INTO @Candidates (EmbeddingId, SpatialDistance)
    SELECT TOP (@SpatialCandidates) e.EmbeddingId, e.SpatialGeometry.STDistance(@QueryPoint)
    FROM dbo.AtomEmbeddings AS e
    WHERE e.ModelId = @ModelId AND e.SpatialGeometry.STDistance(@QueryPoint) IS NOT NULL
    ORDER BY e.SpatialGeometry.STDistance(@QueryPoint);

    SELECT TOP (@FinalTopK)
           e.EmbeddingId, e.AtomId, a.Content, a.SourceUri, a.SourceType, a.Metadata,
           s.Score, s.Distance, k.SpatialDistance
    FROM @Candidates AS k
    JOIN dbo.AtomEmbeddings AS e ON e.EmbeddingId = k.EmbeddingId
    JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
    CROSS APPLY dbo.HartdCompare(@QueryVector, e.EmbeddingVector) AS c
    CROSS APPLY (SELECT CASE WHEN @Cosine = 1 THEN c.Dot / @QueryNorm ELSE SQRT(c.SquaredDistance) END AS Score,
                        CASE WHEN @Cosine = 1 THEN 1 - c.Dot / @QueryNorm ELSE SQRT(c.SquaredDistance) END AS Distance) AS s
    ORDER BY s.Distance, e.EmbeddingId;
END;
GO
-- parameters: @p1 = '0003_search.sql', @p2 = 'adcd498826ef98f2fcb5b20b937c4967a0da662ffcd1eb7222a8a36404d51e9b', @p3 = '<UTC time, RFC 3339>'
DELETE FROM dbo.HartdProcedureHistory WHERE Name = @p1;
INSERT INTO dbo.HartdProcedureHistory (Name, Checksum, AppliedAt) VALUES (@p1, @p2, @p3)
GO
-- parameters: @p1 = 'dbo.sp_InitializeSpatialAnchors'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
-- 0004_anchors.sql (sha256 0aad74f91af3), when its checksum in HartdProcedureHistory differs or one of its objects is missing;
-- these statements and the history row after them run in one transaction
-- Chooses a model's three anchors by the farthest-point rule and projects
-- every embedding of the model, in one transaction, for SQL-side clients
-- that load embeddings without hartd:
--   A1: the embedding at position AnchorSeed mod n in EmbeddingId order
--       (hartd itself draws A1 from a PCG generator seeded with AnchorSeed,
--       so the two may pick different, equally valid anchors);
--   A2: the embedding farthest from A1 (Euclidean);
--   A3: the embedding maximizing d(v, A1) + d(v, A2) among those not
--       near-collinear with A1 and A2 (j/d12 ≥ 10⁻³, hartd's
--       spatial.MinCollinearity).
-- Ties go to the lower EmbeddingId. A model that has anchors keeps them:
-- changing them would move every point under hartd's feet. hartd reads the
-- anchors when it loads the model (at start).
CREATE OR ALTER PROCEDURE dbo.sp_InitializeSpatialAnchors
    @ModelId BIGINT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @Seed BIGINT, @Message NVARCHAR(2048);
    SELECT @Seed = AnchorSeed FROM dbo.Models WHERE ModelId = @ModelId AND IsActive = 1;
    IF @Seed IS NULL
    BEGIN
        SET @Message = CONCAT(N'hartd: no active model with id ', @ModelId);
        THROW 50001, @Message, 1;
    END;
    IF EXISTS (SELECT 1 FROM dbo.SpatialAnchors WHERE ModelId = @ModelId)
        THROW 50006, N'hartd: the model already has anchors; they are kept (every stored point depends on them)', 1;
    DECLARE @N BIGINT = (SELECT COUNT_BIG(*) FROM dbo.AtomEmbeddings WHERE ModelId = @ModelId);
    IF @N < 3
        THROW 50007, N'hartd: the model needs at least three embeddings for anchors', 1;

    DECLARE @Offset BIGINT = ((@Seed % @N) + @N) % @N;
    DECLARE @A1Id BIGINT, @A1 VARBINARY(MAX), @A2Id BIGINT, @A2 VARBINARY(MAX), @A3Id BIGINT, @A3 VARBINARY(MAX), @D12 FLOAT;
    SELECT @A1Id = EmbeddingId, @A1 = EmbeddingVector
    FROM dbo.AtomEmbeddings WHERE ModelId = @ModelId
    ORDER BY EmbeddingId OFFSET @Offset ROWS FETCH NEXT 1 ROWS ONLY;

    SELECT TOP (1) @A2Id = e.EmbeddingId, @A2 = e.EmbeddingVector, @D12 = c.SquaredDistance
    FROM dbo.AtomEmbeddings AS e
    CROSS APPLY dbo.HartdCompare(e.EmbeddingVector, @A1) AS c
    WHERE e.ModelId = @ModelId
    ORDER BY c.SquaredDistance DESC, e.EmbeddingId;
    IF @D12 IS NULL OR @D12 = 0
        THROW 50007, N'hartd: every embedding of the model equals the first anchor', 1;

    SELECT TOP (1) @A3Id = e.EmbeddingId, @A3 = e.EmbeddingVector
    FROM dbo.AtomEmbeddings AS e
    CROSS APPLY dbo.HartdCompare(e.EmbeddingVector, @A1) AS c1
    CROSS APPLY dbo.HartdCompare(e.EmbeddingVector, @A2) AS c2
    -- i: the position of v along A1→A2; j² = d(v, A1)² − i²: its squared
    -- distance from the line through A1 and A2.
    CROSS APPLY (SELECT (c1.SquaredDistance + @D12 - c2.SquaredDistance) / (2 * SQRT(@D12)) AS I) AS f
    WHERE e.ModelId = @ModelId
      AND c1.SquaredDistance > 0 AND c2.SquaredDistance > 0
      AND c1.SquaredDistance - f.I * f.I >= 1e-6 * @D12
    ORDER BY SQRT(c1.SquaredDistance) + SQRT(c2.SquaredDistance) DESC, e.EmbeddingId;
    IF @A3Id IS NULL
        THROW 50007, N'hartd: every embedding is near-collinear with the first two anchors', 1;

    BEGIN TRANSACTION;
    INSERT INTO dbo.SpatialAnchors (ModelId, AnchorIndex, EmbeddingId, AnchorVector, ChosenAt)
    VALUES (@ModelId, 1, @A1Id, @A1, SYSUTCDATETIME()),
           (@ModelId, 2, @A2Id, @A2, SYSUTCDATETIME()),
           (@ModelId, 3, @A3Id, @A3, SYSUTCDATETIME());
    -- The GEOMETRY holds (x, y): SQL Server's spatial index is 2-D; z is in
    -- SpatialZ (hartd's own writes also carry it as the point's Z).
    UPDATE e
    SET SpatialGeometry = geometry::Point(p.X, p.Y, 0), SpatialX = p.X, SpatialY = p.Y, SpatialZ = p.Z
    FROM dbo.AtomEmbeddings AS e
    CROSS APPLY dbo.HartdProject(@ModelId, e.EmbeddingVector) AS p
    WHERE e.ModelId = @ModelId;
    COMMIT TRANSACTION;

    SELECT AnchorIndex, EmbeddingId FROM dbo.SpatialAnchors WHERE ModelId = @ModelId ORDER BY AnchorIndex;
END;
GO
-- parameters: @p1 = '0004_anchors.sql', @p2 = '0aad74f91af3b8b1b0b155d7c9f938d9a4196f195c7efdb38ab1a1772e17d4cf', @p3 = '<UTC time, RFC 3339>'
DELETE FROM dbo.HartdProcedureHistory WHERE Name = @p1;
INSERT INTO dbo.HartdProcedureHistory (Name, Checksum, AppliedAt) VALUES (@p1, @p2, @p3)
GO
