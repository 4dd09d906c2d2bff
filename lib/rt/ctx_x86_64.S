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
 * gctx_init() in lib/rt/proc.c builds the same frame for a G that has
 * never run, with the return address pointing at grt__ctx_entry.
 *
 * Two switches use that frame: grt__ctx_swap (to and from g0, and the
 * direct yield; grt__ctx_swap_g0 is its entry from g0, which stores g0's
 * known modes instead of reading them) and the coroutine switch,
 * grt_coro_switch/grt_coro_exit below. Each resumes only frames its own
 * kind saved, and new Gs: a G blocked in a coroutine was saved by the
 * coroutine switch (or has never run) and nothing but a coroutine switch
 * takes it out of c->gp; every other G is saved and resumed by
 * grt__ctx_swap. (The two differ in what the resumed side gets in rax
 * and in who finishes the switch.)
 */

	.text

/* The frame's registers, as grt__ctx_swap and grt__ctx_swap_g0 push them. */
.macro PUSH_CALLEE_SAVED
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
.endm

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
	PUSH_CALLEE_SAVED
	pushq	$0			/* the pad bytes stay 0: see below */
	.cfi_adjust_cfa_offset 8
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	/*
	 * The modes being left, as the 8-byte word just saved (pad 0), but
	 * read back one store at a time: a load that spans several stores
	 * still in the store buffer cannot be forwarded from them and waits
	 * for them to reach the cache (measured: the most expensive line of
	 * a switch in skynet's profile).
	 */
	movl	(%rsp), %r8d
	movzwl	4(%rsp), %r9d
	shlq	$32, %r9
	orq	%r9, %r8
.Lswap:
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	movq	%rdx, %rax

	/*
	 * fldcw is several cycles and serialises the x87 unit, and neither
	 * load is needed when nothing changed. (The stores are not free
	 * either: stmxcsr measured ~10 cycles on the AMD EPYC these
	 * numbers come from, 2-3 ns of a coroutine switch, but only a
	 * store can tell what the modes being left are.)
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
 * void *grt__ctx_swap_g0(struct grt__ctx *from, const struct grt__ctx *to,
 *			  void *xfer, uint64_t modes)
 *
 * grt__ctx_swap() for leaving g0, whose floating-point modes the caller
 * knows (modes, in the saved word's layout): they are stored instead of
 * read. g0 runs only the runtime's own code, which never changes them, so
 * on g0 the modes are those g0 was resumed with, the word in its frame:
 * the thread's own at the M's start (m->g0fp), reloaded by the switch
 * from any G whose modes differ. Reading them back costs a stmxcsr and a
 * fnstcw, the most expensive instructions of a switch, so only a G's side
 * of a switch pays them now (half of every G -> g0 -> G round).
 * Same frame; continues in grt__ctx_swap with the same stack layout.
 */
	.globl	grt__ctx_swap_g0
	.hidden	grt__ctx_swap_g0
	.type	grt__ctx_swap_g0, @function
	.p2align 4
grt__ctx_swap_g0:
	.cfi_startproc
	PUSH_CALLEE_SAVED
	pushq	%rcx			/* the modes, pad 0 */
	.cfi_adjust_cfa_offset 8
	movq	%rcx, %r8
	jmp	.Lswap
	.cfi_endproc
	.size	grt__ctx_swap_g0, .-grt__ctx_swap_g0

/*
 * int grt_coro_switch(struct grt_coro *c)
 * int grt_coro_exit(struct grt_coro *c)
 *
 * The whole coroutine switch (lib/rt/coro.c has the protocol). The
 * caller's context is saved first, in the frame grt__ctx_swap uses, so
 * that the C half grt__coro_prepare() can decide and hand the M over with
 * nothing left to do on this stack but the jump; the other C half,
 * grt__coro_resumed(), runs on the resumed stack right after it. Both are
 * ordinary calls, predicted by the return stack buffer. The switch then
 * returns straight into the resumed G's caller, with the indirect jmp of
 * grt__ctx_swap: no C frame spans the jump, so no C function returns to
 * a caller the return stack buffer has never seen.
 *
 * Registers across the two calls: rbx = c and r12d = exit (callee-saved,
 * so they survive grt__coro_prepare() and the jump itself: registers are
 * not part of the stack being switched); rax:rdx = the two Gs returned
 * by grt__coro_prepare(), whose contexts are their first member.
 * rbp is kept a frame pointer of the frame being left or resumed, so
 * that frame-pointer unwinders (ASan's) see the right G's callers.
 *
 * Stack alignment: rsp is 8 mod 16 at entry, the saved frame is 56
 * bytes, so rsp is 16-byte aligned at both calls, on either stack (every
 * frame a coroutine switch resumes was saved by this code, or is the
 * initial frame built by proc.c, aligned the same).
 */
	.globl	grt_coro_exit
	.type	grt_coro_exit, @function
	.globl	grt__coro_exit
	.hidden	grt__coro_exit
	.type	grt__coro_exit, @function
	.p2align 4
grt_coro_exit:
grt__coro_exit:
	.cfi_startproc
	movl	$1, %esi
	jmp	.Lcoro_switch
	.cfi_endproc
	.size	grt_coro_exit, .-grt_coro_exit
	.size	grt__coro_exit, .-grt__coro_exit

	.globl	grt_coro_switch
	.type	grt_coro_switch, @function
	.p2align 4
grt_coro_switch:
	.cfi_startproc
	xorl	%esi, %esi
.Lcoro_switch:
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbp, 0
	movq	%rsp, %rbp
	.cfi_def_cfa_register rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	.cfi_offset rbx, -24
	.cfi_offset r12, -32
	.cfi_offset r13, -40
	.cfi_offset r14, -48
	.cfi_offset r15, -56
	pushq	$0			/* pad bytes 0, as in grt__ctx_swap */
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rdi, %rbx
	movl	%esi, %r12d
	call	grt__coro_prepare
	testq	%rdx, %rdx
	jz	.Lcoro_refused
	.cfi_remember_state

	movq	(%rsp), %r8		/* the modes being left, pad included */
	movq	%rsp, (%rax)		/* from->ctx.sp */
	movq	(%rdx), %rsp		/* to->ctx.sp */
	leaq	48(%rsp), %rbp		/* its saved rbp: its frame record */
	cmpq	(%rsp), %r8		/* as in grt__ctx_swap */
	jne	.Lcoro_load_modes
.Lcoro_modes_loaded:
	movq	%rax, %rdi
	movq	%rdx, %rsi
	movq	%rbx, %rdx
	movl	%r12d, %ecx
	call	grt__coro_resumed
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	.cfi_def_cfa rsp, 8
	.cfi_restore rbx
	.cfi_restore rbp
	.cfi_restore r12
	.cfi_restore r13
	.cfi_restore r14
	.cfi_restore r15
	popq	%rcx			/* see grt__ctx_swap: not ret */
	.cfi_adjust_cfa_offset -8
	.cfi_register rip, rcx
	jmp	*%rcx

	.cfi_restore_state
	.cfi_remember_state
.Lcoro_refused:				/* eax: the errno; nothing changed */
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	.cfi_def_cfa rsp, 8
	.cfi_restore rbx
	.cfi_restore rbp
	.cfi_restore r12
	.cfi_restore r13
	.cfi_restore r14
	.cfi_restore r15
	ret

	.cfi_restore_state
.Lcoro_load_modes:
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	jmp	.Lcoro_modes_loaded
	.cfi_endproc
	.size	grt_coro_switch, .-grt_coro_switch

/*
 * First instructions of a G: grt__ctx_swap() "returned" here with
 * rax = xfer, r12 = the G, r13 = the C entry point, which never returns:
 *	void entry(struct grt_g *gp, void *xfer);
 * (A coroutine's G is entered by the coroutine switch instead, with rax =
 * 0: grt__coro_resumed() has already done the resumed side's work.)
 * The frame built by gctx_init() leaves rsp 16-byte aligned here, as at
 * a call.
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
