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
