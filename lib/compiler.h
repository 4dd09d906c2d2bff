/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgwake internals: compiler and CPU helpers shared by the lib/ sources.
 *
 * Internal names use the gwi_ prefix ("gwake internal") and hidden
 * visibility, so that nothing but the gwake_ API (and the runtime's grt_)
 * is exported from libgwake.so; lib/libgwake.map makes the rest local as a
 * second line of defence. Every internal header wraps its declarations in
 * GWI_HIDDEN_BEGIN/END rather than setting -fvisibility=hidden, so that the
 * public headers keep their default visibility wherever they are included.
 */
#ifndef GWI_COMPILER_H
#define GWI_COMPILER_H

#define GWI_HIDDEN_BEGIN	_Pragma("GCC visibility push(hidden)")
#define GWI_HIDDEN_END		_Pragma("GCC visibility pop")

#define gwi_likely(x)		__builtin_expect(!!(x), 1)
#define gwi_unlikely(x)		__builtin_expect(!!(x), 0)

/*
 * Thread-local state of the library. initial-exec avoids a __tls_get_addr()
 * call on every access from libgwake.so; the price is that the library
 * takes a few dozen bytes of the static TLS surplus if it is dlopen()ed
 * late, which glibc reserves for exactly this use.
 */
#define GWI_TLS			__thread __attribute__((tls_model("initial-exec")))

/*
 * One iteration of a spin-wait: tells the CPU (and an SMT sibling or a
 * hypervisor doing pause-loop exiting) that we are busy-waiting. It is no
 * compiler barrier for memory: callers re-read the wake word with an atomic
 * load, which the compiler cannot cache.
 */
static inline void gwi_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#else
	__asm__ __volatile__("");
#endif
}

#endif /* GWI_COMPILER_H */
