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
