package engine

import "regexp"

// Request limits. A field over its limit is a *FieldError wrapping
// ErrTooLarge; the transport's own message size limit is the server's.
const (
	MaxBatchItems    = 10000
	MaxDeleteIDs     = 10000
	MaxK             = 1000
	MaxCandidates    = 1 << 20
	MaxTextBytes     = 1 << 20
	MaxSourceURI     = 2048
	MaxSourceType    = 128
	MaxMetadataBytes = 64 << 10
	MaxModelName     = 128
)

var modelNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
