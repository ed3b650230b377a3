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
