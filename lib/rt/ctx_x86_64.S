/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The G context switch for x86-64 (System V ABI).
 *
 * A switch is a function call as far as the compiler is concerned, so only
 * what the ABI says survives a call must be saved: the callee-saved
 * registers rbx, rbp, r12-r15, the stack pointer, and the control bits of
 * MXCSR and the x87 control word ("callee-saved" control fields, ABI
 * section 3.2.3). Everything else is clobbered by any call anyway. The
 * state lives on the stack being left; a context is just the saved stack
 * pointer (struct grt__ctx, offset 0).
 *
 * Saved frame, from the saved sp upwards:
 *	 0  MXCSR (4 bytes), x87 control word (2 bytes), 2 bytes pad
 *	 8  r15   16 r14   24 r13   32 r12   40 rbx   48 rbp
 *	56  return address
 * lib/rt/g.c builds the same frame for a G that has never run, with the
 * return address pointing at grt__ctx_entry.
 */

	.text

/*
 * void *grt__ctx_swap(struct grt__ctx *from, const struct grt__ctx *to,
 *		       void *xfer)
 *
 * Saves the caller's context in *from and resumes *to. The resumed side
 * returns from its own grt__ctx_swap() (or enters grt__ctx_entry) with
 * xfer as the return value: the switcher tells the resumed side what to do
 * with the context it just left (requeue it, free it, publish it), which
 * can only be done once nobody runs on that stack any more.
 */
	.globl	grt__ctx_swap
	.hidden	grt__ctx_swap
	.type	grt__ctx_swap, @function
	.p2align 4
grt__ctx_swap:
	.cfi_startproc
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	pushq	$0			/* the pad bytes stay 0: see below */
	.cfi_adjust_cfa_offset 8
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	(%rsp), %r8		/* the modes being left, pad included */

	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	movq	%rdx, %rax

	/*
	 * ldmxcsr and fldcw are the slow part of a switch (fldcw alone is
	 * several cycles and serialises the x87 unit); stores are cheap.
	 * The two sides almost always run with the same modes, so load
	 * them only when the saved word differs from the one just left.
	 * Both frames have zero pad bytes (pushq $0 here, the initial
	 * frame in proc.c), so equal words mean equal modes; a different
	 * pad could only cause a needless load, never a skipped one.
	 */
	cmpq	(%rsp), %r8
	jne	.Lload_modes
.Lmodes_loaded:
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	/*
	 * Not ret: the return stack buffer predicts the caller of this
	 * swap, never the other side's, so every ret would mispredict. An
	 * indirect jmp goes through the branch target predictor, which
	 * learns the alternation of a ping-pong: measured here 7-12 ns per
	 * switch instead of 27-31 (tools/rtbench/rt_switch.c).
	 */
	popq	%rcx
	jmp	*%rcx

.Lload_modes:
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	jmp	.Lmodes_loaded
	.cfi_endproc
	.size	grt__ctx_swap, .-grt__ctx_swap

/*
 * First instructions of a G: grt__ctx_swap() "returned" here with
 * rax = xfer, r12 = the G, r13 = the C entry point, which never returns:
 *	void entry(struct grt_g *gp, void *xfer);
 * The frame built by g.c leaves rsp 16-byte aligned here, as at a call.
 */
	.globl	grt__ctx_entry
	.hidden	grt__ctx_entry
	.type	grt__ctx_entry, @function
	.p2align 4
grt__ctx_entry:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%r12, %rdi
	movq	%rax, %rsi
	call	*%r13
	ud2
	.cfi_endproc
	.size	grt__ctx_entry, .-grt__ctx_entry

	.section .note.GNU-stack, "", @progbits
