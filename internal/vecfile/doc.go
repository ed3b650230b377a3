// Package vecfile reads embedding files for `hartd import`.
//
// # Formats
//
// Three formats are supported. [FormatOf] picks one from the file
// extension (case-insensitive):
//
//   - JSON Lines (".jsonl", ".ndjson", ".json"): one JSON object per line,
//
//     {"vector":[0.1,0.2], "text":"...", "source_uri":"...", "source_type":"...", "metadata":{...}}
//
//     "vector" is required and must be a non-empty array of numbers; every
//     number must fit in a float32. The other fields are optional strings,
//     except "metadata", which must be a JSON object (null counts as absent);
//     it is returned compacted in [Record.Metadata]. Unknown fields are an
//     error (field names match as in encoding/json, ignoring case). Blank lines are skipped, a trailing "\r" is ignored, a UTF-8
//     byte order mark at the start of the file is ignored. Lines may be up to
//     [MaxLineBytes] long.
//
//   - NumPy ".npy" (format versions 1.0, 2.0 and 3.0): a 2-D array of shape
//     (n, d) with dtype '<f4' (little-endian float32) in C order. Bytes
//     after the n rows are ignored (np.save may append several arrays to one
//     file; only the first is read).
//
//   - ".fvecs": records of a little-endian int32 d followed by d
//     little-endian float32 values. All records share one d.
//
// For .npy and .fvecs, d must be in 1..[MaxDim]. For all formats, every
// record must have the dimension of the first one. Records of binary
// formats carry only a vector; Text, SourceURI, SourceType and Metadata
// are empty.
//
// # Streaming
//
// Readers never hold the whole file in memory: input is read through a
// buffered reader and at most one record (one line, one row) is decoded at
// a time. Each [Record] returned by Next owns its Vector; the reader does
// not reuse it. Headers that announce huge shapes are harmless because
// nothing is allocated from the row count. A Reader is not safe for
// concurrent use.
//
// # Errors
//
// Every error starts with "vecfile: " and wraps the underlying error (with
// %w) when there is one. Errors about a record name its position, counted
// from 1:
//
//	vecfile: line 12: vector has 3 dimensions, want 4 (as on line 1)
//	vecfile: row 7: dimension 2 differs from 3 (as in row 1)
//
// JSONL lines are physical lines of the file, blank lines included; npy
// and fvecs rows are records (row 1 is the first one). npy header errors
// say "npy header".
//
// After an error about the content of a single JSONL line, Next may be
// called again and continues with the following line. Any other error
// (I/O errors, overlong lines, malformed binary input) is sticky: every
// later call to Next returns it again.
package vecfile
