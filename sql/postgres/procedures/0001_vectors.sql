-- Vector functions for SQL-side clients, PostgreSQL dialect.
--
-- hartd stores a vector as its float32 values, little-endian, 4 bytes each,
-- in a bytea column ("AtomEmbeddings"."EmbeddingVector",
-- "SpatialAnchors"."AnchorVector"). PostgreSQL cannot cast bytes to real, so
-- hartd_float32_array decodes each value from its IEEE 754 fields: sign, an
-- 8-bit exponent e and a 23-bit fraction f, the value being
-- (-1)^sign * (2^23 + f) * 2^(e - 150), or f * 2^-149 when e = 0. The result
-- is exact in double precision. e = 255 (NaN, infinity) yields NULL: hartd
-- never stores such values. (|, & and << share one precedence level in
-- PostgreSQL, hence the parentheses.)
CREATE OR REPLACE FUNCTION hartd_float32_array(v bytea)
RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    n integer := length(v) / 4;
    out double precision[] := array_fill(NULL::double precision, ARRAY[n]);
    b bigint;
    e integer;
    f double precision;
BEGIN
    IF length(v) % 4 <> 0 THEN
        RAISE EXCEPTION 'hartd: a vector of % bytes is not float32 values', length(v) USING ERRCODE = '22023';
    END IF;
    FOR i IN 0 .. n - 1 LOOP
        b := get_byte(v, 4 * i)::bigint
             | (get_byte(v, 4 * i + 1)::bigint << 8)
             | (get_byte(v, 4 * i + 2)::bigint << 16)
             | (get_byte(v, 4 * i + 3)::bigint << 24);
        e := ((b >> 23) & 255)::integer;
        f := (b & 8388607)::double precision;
        IF e = 255 THEN
            CONTINUE; -- NULL
        ELSIF e = 0 THEN
            f := f * 2::double precision ^ (-149);
        ELSE
            f := (f + 8388608) * 2::double precision ^ (e - 150);
        END IF;
        IF b >= 2147483648 THEN
            f := -f;
        END IF;
        out[i + 1] := f;
    END LOOP;
    RETURN out;
END
$$;

-- Every value of a vector, with its 0-based ordinal.
CREATE OR REPLACE FUNCTION hartd_float32s(v bytea)
RETURNS TABLE (ordinal integer, value double precision)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT (u.k - 1)::integer, u.x FROM unnest(hartd_float32_array(v)) WITH ORDINALITY AS u (x, k)
$$;

-- The sums that every metric needs, over two vectors of equal length: the
-- dot product, the squared Euclidean distance and both squared norms. A
-- cosine model's similarity is dot / sqrt(norm_a2 * norm_b2); an l2 model's
-- distance is sqrt(squared_distance). Vectors of different lengths are an
-- error.
CREATE OR REPLACE FUNCTION hartd_compare(a bytea, b bytea)
RETURNS TABLE (dimension integer, dot double precision, squared_distance double precision,
               norm_a2 double precision, norm_b2 double precision)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    x double precision[] := hartd_float32_array(a);
    y double precision[] := hartd_float32_array(b);
BEGIN
    IF length(a) <> length(b) THEN
        RAISE EXCEPTION 'hartd: vectors of % and % bytes cannot be compared', length(a), length(b)
            USING ERRCODE = '22023';
    END IF;
    dimension := length(a) / 4;
    dot := 0; squared_distance := 0; norm_a2 := 0; norm_b2 := 0;
    FOR i IN 1 .. dimension LOOP
        dot := dot + x[i] * y[i];
        squared_distance := squared_distance + (x[i] - y[i]) * (x[i] - y[i]);
        norm_a2 := norm_a2 + x[i] * x[i];
        norm_b2 := norm_b2 + y[i] * y[i];
    END LOOP;
    RETURN NEXT;
END
$$;

-- Raises an error unless v fits the active model model_id: 4 bytes per
-- value, "Dimension" values, all finite, and not all zero for a cosine
-- model (which has no direction). Returns the model's metric.
CREATE OR REPLACE FUNCTION hartd_check_vector(model_id bigint, v bytea)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    dim integer;
    metric text;
BEGIN
    SELECT m."Dimension", m."Metric" INTO dim, metric
    FROM "Models" AS m WHERE m."ModelId" = model_id AND m."IsActive";
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hartd: no active model with id %', model_id USING ERRCODE = 'P0002';
    END IF;
    IF v IS NULL OR length(v) <> 4 * dim THEN
        RAISE EXCEPTION 'hartd: the vector has % bytes; model % takes % float32 values, % bytes',
            coalesce(length(v), 0), model_id, dim, 4 * dim USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM hartd_float32s(v) AS f WHERE f.value IS NULL) THEN
        RAISE EXCEPTION 'hartd: the vector holds a NaN or an infinity' USING ERRCODE = '22023';
    END IF;
    IF metric = 'cosine' AND NOT EXISTS (SELECT 1 FROM hartd_float32s(v) AS f WHERE f.value <> 0) THEN
        RAISE EXCEPTION 'hartd: a cosine model cannot take the zero vector' USING ERRCODE = '22023';
    END IF;
    RETURN metric;
END
$$;
