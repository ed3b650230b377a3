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
