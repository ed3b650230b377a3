//go:build !purego

#include "textflag.h"

// func dot3AVX2(v, a []float32, e1, e2 []float64) (x, y, ww float64)
//
// With w = float64(v) − float64(a) (element-wise, exact), returns x = w·e1,
// y = w·e2 and ww = w·w, accumulated in float64 with fused multiply-adds.
// len(a), len(e1) and len(e2) must be at least len(v); the Go caller
// guarantees it. Requires AVX2 and FMA.
TEXT ·dot3AVX2(SB), NOSPLIT, $0-120
	MOVQ v_base+0(FP), SI
	MOVQ v_len+8(FP), DX
	MOVQ a_base+24(FP), AX
	MOVQ e1_base+48(FP), BX
	MOVQ e2_base+72(FP), CX

	// Y4..Y7: x partial sums, Y8..Y11: y partial sums, Y12..Y15: ww partial
	// sums; four independent sets hide the FMA latency.
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15

loop16:
	CMPQ DX, $16
	JLT  loop4

	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   (AX), Y1
	VSUBPD      Y1, Y0, Y0
	VFMADD231PD (BX), Y0, Y4
	VFMADD231PD (CX), Y0, Y8
	VFMADD231PD Y0, Y0, Y12

	VCVTPS2PD   16(SI), Y2
	VCVTPS2PD   16(AX), Y3
	VSUBPD      Y3, Y2, Y2
	VFMADD231PD 32(BX), Y2, Y5
	VFMADD231PD 32(CX), Y2, Y9
	VFMADD231PD Y2, Y2, Y13

	VCVTPS2PD   32(SI), Y0
	VCVTPS2PD   32(AX), Y1
	VSUBPD      Y1, Y0, Y0
	VFMADD231PD 64(BX), Y0, Y6
	VFMADD231PD 64(CX), Y0, Y10
	VFMADD231PD Y0, Y0, Y14

	VCVTPS2PD   48(SI), Y2
	VCVTPS2PD   48(AX), Y3
	VSUBPD      Y3, Y2, Y2
	VFMADD231PD 96(BX), Y2, Y7
	VFMADD231PD 96(CX), Y2, Y11
	VFMADD231PD Y2, Y2, Y15

	ADDQ $64, SI
	ADDQ $64, AX
	ADDQ $128, BX
	ADDQ $128, CX
	SUBQ $16, DX
	JMP  loop16

loop4:
	CMPQ DX, $4
	JLT  reduce

	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   (AX), Y1
	VSUBPD      Y1, Y0, Y0
	VFMADD231PD (BX), Y0, Y4
	VFMADD231PD (CX), Y0, Y8
	VFMADD231PD Y0, Y0, Y12

	ADDQ $16, SI
	ADDQ $16, AX
	ADDQ $32, BX
	ADDQ $32, CX
	SUBQ $4, DX
	JMP  loop4

reduce:
	// Pairwise reduction of the four partial sums of each quantity.
	VADDPD Y5, Y4, Y4
	VADDPD Y7, Y6, Y6
	VADDPD Y6, Y4, Y4
	VADDPD Y9, Y8, Y8
	VADDPD Y11, Y10, Y10
	VADDPD Y10, Y8, Y8
	VADDPD Y13, Y12, Y12
	VADDPD Y15, Y14, Y14
	VADDPD Y14, Y12, Y12

	// Horizontal sums of the four lanes into the low lane. From here on
	// only scalar (VEX, upper-zeroing) operations touch X4, X8 and X12.
	VEXTRACTF128 $1, Y4, X0
	VADDPD       X0, X4, X4
	VPERMILPD    $1, X4, X0
	VADDSD       X0, X4, X4
	VEXTRACTF128 $1, Y8, X1
	VADDPD       X1, X8, X8
	VPERMILPD    $1, X8, X1
	VADDSD       X1, X8, X8
	VEXTRACTF128 $1, Y12, X2
	VADDPD       X2, X12, X12
	VPERMILPD    $1, X12, X2
	VADDSD       X2, X12, X12

tail:
	TESTQ DX, DX
	JEQ   done

	VCVTSS2SD   (SI), X0, X0
	VCVTSS2SD   (AX), X1, X1
	VSUBSD      X1, X0, X0
	VFMADD231SD (BX), X0, X4
	VFMADD231SD (CX), X0, X8
	VFMADD231SD X0, X0, X12

	ADDQ $4, SI
	ADDQ $4, AX
	ADDQ $8, BX
	ADDQ $8, CX
	DECQ DX
	JMP  tail

done:
	VMOVSD X4, x+96(FP)
	VMOVSD X8, y+104(FP)
	VMOVSD X12, ww+112(FP)
	VZEROUPPER
	RET
