//go:build !amd64 || purego

package search

func codeLevelsSIMD(codes []uint64, words int, planes []uint64, out []uint32) bool { return false }
