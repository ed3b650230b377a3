-- The trilateration projection of DESIGN.md, for SQL-side clients. hartd
-- itself projects in Go (internal/spatial); these functions give the same
-- point up to float64 rounding.
--
-- From the squared distances r1, r2, r3 of a vector to the anchors and the
-- anchors' squared pairwise distances d12, d13, d23: A1 sits at (0, 0, 0),
-- A2 at (d12, 0, 0), A3 at (i, j, 0) with i = (d13² + d12² − d23²)/(2·d12)
-- and j = √(d13² − i²), and
--   x = (r1² − r2² + d12²) / (2·d12)
--   y = (r1² − r3² + i² + j²) / (2·j) − (i/j)·x
--   z = √max(0, r1² − x² − y²)
CREATE OR REPLACE FUNCTION hartd_trilaterate(r1 double precision, r2 double precision, r3 double precision,
                                             d12 double precision, d13 double precision, d23 double precision,
                                             OUT x double precision, OUT y double precision, OUT z double precision)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    d double precision := sqrt(d12);
    i double precision := (d13 + d12 - d23) / (2 * d);
    j double precision := sqrt(greatest(d13 - i * i, 0));
BEGIN
    x := (r1 - r2 + d12) / (2 * d);
    y := (r1 - r3 + i * i + j * j) / (2 * j) - (i / j) * x;
    z := sqrt(greatest(r1 - x * x - y * y, 0));
END
$$;

-- The point of v in model model_id's projection; no row while the model has
-- no anchors. A cosine model's vector is taken normalized, as hartd stores
-- it: |v/|v| − A|² = 1 − 2·v·A/|v| + |A|².
CREATE OR REPLACE FUNCTION hartd_project(model_id bigint, v bytea)
RETURNS TABLE (x double precision, y double precision, z double precision)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    cosine boolean;
    a bytea[];
    r double precision[] := ARRAY[NULL, NULL, NULL]::double precision[];
    c record;
    k integer;
BEGIN
    SELECT m."Metric" = 'cosine' INTO cosine FROM "Models" AS m WHERE m."ModelId" = model_id;
    SELECT array_agg(s."AnchorVector" ORDER BY s."AnchorIndex") INTO a
    FROM "SpatialAnchors" AS s WHERE s."ModelId" = model_id;
    IF cosine IS NULL OR a IS NULL OR cardinality(a) <> 3 THEN
        RETURN;
    END IF;
    FOR k IN 1 .. 3 LOOP
        SELECT * INTO c FROM hartd_compare(v, a[k]);
        r[k] := CASE WHEN cosine THEN 1 - 2 * c.dot / sqrt(c.norm_a2) + c.norm_b2 ELSE c.squared_distance END;
    END LOOP;
    RETURN QUERY
    SELECT t.x, t.y, t.z
    FROM hartd_trilaterate(r[1], r[2], r[3],
                           (SELECT q.squared_distance FROM hartd_compare(a[1], a[2]) AS q),
                           (SELECT q.squared_distance FROM hartd_compare(a[1], a[3]) AS q),
                           (SELECT q.squared_distance FROM hartd_compare(a[2], a[3]) AS q)) AS t;
END
$$;

-- Projects one vector, after checking it against the model.
CREATE OR REPLACE FUNCTION hartd_project_vector(model_id bigint, v bytea)
RETURNS TABLE (x double precision, y double precision, z double precision)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM hartd_check_vector(model_id, v);
    RETURN QUERY SELECT p.x, p.y, p.z FROM hartd_project(model_id, v) AS p;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hartd: model % has no anchors yet (hartd chooses them once the model holds three distinct vectors; or SELECT * FROM hartd_initialize_spatial_anchors(%))',
            model_id, model_id USING ERRCODE = '55000';
    END IF;
END
$$;
