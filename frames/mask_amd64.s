//go:build !purego

#include "textflag.h"

// func maskAVX2(b *byte, n int, key uint64)
// XORs n bytes at b with key repeated; n is a positive multiple of 128.
TEXT ·maskAVX2(SB), NOSPLIT, $0-24
	MOVQ         b+0(FP), AX
	MOVQ         n+8(FP), CX
	VPBROADCASTQ key+16(FP), Y0

loop:
	VPXOR   0(AX), Y0, Y1
	VPXOR   32(AX), Y0, Y2
	VPXOR   64(AX), Y0, Y3
	VPXOR   96(AX), Y0, Y4
	VMOVDQU Y1, 0(AX)
	VMOVDQU Y2, 32(AX)
	VMOVDQU Y3, 64(AX)
	VMOVDQU Y4, 96(AX)
	ADDQ    $128, AX
	SUBQ    $128, CX
	JNZ     loop
	VZEROUPPER
	RET

// func maskSSE2(b *byte, n int, key uint64)
// XORs n bytes at b with key repeated; n is a positive multiple of 64.
TEXT ·maskSSE2(SB), NOSPLIT, $0-24
	MOVQ       b+0(FP), AX
	MOVQ       n+8(FP), CX
	MOVQ       key+16(FP), X0
	PUNPCKLQDQ X0, X0

loop:
	MOVOU 0(AX), X1
	MOVOU 16(AX), X2
	MOVOU 32(AX), X3
	MOVOU 48(AX), X4
	PXOR  X0, X1
	PXOR  X0, X2
	PXOR  X0, X3
	PXOR  X0, X4
	MOVOU X1, 0(AX)
	MOVOU X2, 16(AX)
	MOVOU X3, 32(AX)
	MOVOU X4, 48(AX)
	ADDQ  $64, AX
	SUBQ  $64, CX
	JNZ   loop
	RET
