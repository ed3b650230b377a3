//go:build amd64 && !purego

#include "textflag.h"

// Nibble popcounts, for VPSHUFB: byte i holds popcount(i), i < 16, twice.
DATA popcntLUT<>+0x00(SB)/8, $0x0302020102010100
DATA popcntLUT<>+0x08(SB)/8, $0x0403030203020201
DATA popcntLUT<>+0x10(SB)/8, $0x0302020102010100
DATA popcntLUT<>+0x18(SB)/8, $0x0403030203020201
GLOBL popcntLUT<>(SB), RODATA|NOPTR, $32

DATA nibbleMask<>+0x00(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibbleMask<>+0x08(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibbleMask<>+0x10(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibbleMask<>+0x18(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibbleMask<>(SB), RODATA|NOPTR, $32

// One plane: Y5 = popcount bytes of (Y4 & plane block at addr), added to acc.
#define PLANE(addr, acc) \
	VPAND addr, Y4, Y5 \
	VPSRLW $4, Y5, Y6 \
	VPAND Y14, Y5, Y5 \
	VPAND Y14, Y6, Y6 \
	VPSHUFB Y5, Y15, Y5 \
	VPSHUFB Y6, Y15, Y6 \
	VPADDB Y5, acc, acc \
	VPADDB Y6, acc, acc

// func codeLevelsAVX2(codes *uint64, rows, words int, planes *uint64, out *uint32)
//
// For each row of words uint64 (a multiple of 4, at most 124 so that the
// byte counters cannot overflow), out = Σ_j 2^j popcount(code & plane_j),
// the four planes contiguous at planes, words each.
TEXT ·codeLevelsAVX2(SB), NOSPLIT, $0-40
	MOVQ codes+0(FP), SI
	MOVQ rows+8(FP), CX
	MOVQ words+16(FP), R9
	MOVQ planes+24(FP), R8
	MOVQ out+32(FP), DI
	SHLQ $3, R9              // R9 = bytes per row = bytes per plane
	VMOVDQU popcntLUT<>(SB), Y15
	VMOVDQU nibbleMask<>(SB), Y14
	VPXOR Y13, Y13, Y13
	LEAQ (R8)(R9*1), R11     // plane 1
	LEAQ (R11)(R9*1), R12    // plane 2
	LEAQ (R12)(R9*1), R13    // plane 3

row:
	TESTQ CX, CX
	JZ done
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	XORQ R10, R10

block:
	VMOVDQU (SI)(R10*1), Y4
	PLANE((R8)(R10*1), Y0)
	PLANE((R11)(R10*1), Y1)
	PLANE((R12)(R10*1), Y2)
	PLANE((R13)(R10*1), Y3)
	ADDQ $32, R10
	CMPQ R10, R9
	JB block

	VPSADBW Y13, Y0, Y0
	VPSADBW Y13, Y1, Y1
	VPSADBW Y13, Y2, Y2
	VPSADBW Y13, Y3, Y3
	VPSLLQ $1, Y1, Y1
	VPSLLQ $2, Y2, Y2
	VPSLLQ $3, Y3, Y3
	VPADDQ Y1, Y0, Y0
	VPADDQ Y3, Y2, Y2
	VPADDQ Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDQ X1, X0, X0
	VMOVQ X0, AX
	MOVL AX, (DI)
	ADDQ $4, DI
	ADDQ R9, SI
	DECQ CX
	JMP row

done:
	VZEROUPPER
	RET
