// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Symbol names for the diagnostics, without dladdr().
 *
 * dladdr() knows only the dynamic symbol table, so a static binary (the
 * selftests in the VM) or an executable's non-exported functions get no
 * names from it, and it takes the dynamic linker's lock, which a signal
 * handler must not. Instead: when a runtime starts, the objects loaded
 * then are recorded (dl_iterate_phdr(): load bias, address range, file);
 * a lookup maps the object's file (/proc/self/exe for the program) and
 * scans its .symtab (or .dynsym if stripped) for the function containing
 * the address. Only system calls (openat, lseek, mmap, munmap, close)
 * and memory reads: async-signal-safe. A session keeps up to
 * GRT_SYM_FILES files mapped, so a dump opens each file once.
 *
 * The object table is written only by grt__symtab_capture(), called by
 * grt_run() before the diagnostics gate opens, and read only inside the
 * gate (diag.h): no reader sees it change.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "diag.h"

#define GRT_SYM_OBJS	64
#define GRT_SYM_PATH	256
/* Longest name printed; C++ names can be much longer. */
#define GRT_SYM_NAME	160

struct symobj {
	uintptr_t lo, hi, bias;
	char path[GRT_SYM_PATH];
};

static struct symobj objs[GRT_SYM_OBJS];
static unsigned int nobjs;

static int capture_one(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned int *seen = data;
	struct symobj *o;
	const char *name = info->dlpi_name;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	size_t len;
	int i;

	(void)size;
	/* The program comes first, with an empty name. */
	if ((*seen)++ == 0)
		name = "/proc/self/exe";
	if (!name || name[0] != '/' || nobjs == GRT_SYM_OBJS)
		return 0;	/* the vDSO ("linux-vdso.so.1"): no file */
	len = strlen(name);
	if (len >= GRT_SYM_PATH)
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (!hi)
		return 0;
	o = &objs[nobjs++];
	o->lo = lo;
	o->hi = hi;
	o->bias = info->dlpi_addr;
	memcpy(o->path, name, len + 1);
	return 0;
}

void grt__symtab_capture(void)
{
	unsigned int seen = 0;

	nobjs = 0;
	dl_iterate_phdr(capture_one, &seen);
}

bool grt__symtab_known(uintptr_t addr)
{
	unsigned int i;

	for (i = 0; i < nobjs; i++)
		if (addr >= objs[i].lo && addr < objs[i].hi)
			return true;
	return false;
}

void grt__symtab_begin(struct grt__symtab *st, bool sigsafe)
{
	unsigned int i;

	st->sigsafe = sigsafe;
	st->next = 0;
	for (i = 0; i < GRT_SYM_FILES; i++)
		st->f[i].obj = -1;
}

static void file_unmap(struct grt__symfile *f)
{
	if (f->obj >= 0 && f->map)
		syscall(SYS_munmap, f->map, f->size);
	f->obj = -1;
	f->map = NULL;
}

void grt__symtab_end(struct grt__symtab *st)
{
	unsigned int i;

	for (i = 0; i < GRT_SYM_FILES; i++)
		file_unmap(&st->f[i]);
}

/*
 * Find the symbol table in the mapped file: .symtab if present, else
 * .dynsym, each with its string table (sh_link). Everything is checked
 * against the file's size: a truncated or odd file gives no names, never
 * a fault. The mapping is fresh, but its address range may carry ASan
 * poison of memory that used to be there.
 */
GRT_NO_ASAN static bool file_parse(struct grt__symfile *f)
{
	const Elf64_Ehdr *eh = (const void *)f->map;
	const Elf64_Shdr *sh, *sym = NULL, *str;
	unsigned int i, pass;

	/* No memcmp(): ASan's interceptor would check the shadow. */
	if (f->size < sizeof(*eh) || eh->e_ident[EI_MAG0] != ELFMAG0 ||
	    eh->e_ident[EI_MAG1] != ELFMAG1 || eh->e_ident[EI_MAG2] != ELFMAG2 ||
	    eh->e_ident[EI_MAG3] != ELFMAG3 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || !eh->e_shnum ||
	    eh->e_shoff > f->size || eh->e_shoff % 8 ||
	    (f->size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
		return false;
	sh = (const void *)(f->map + eh->e_shoff);
	for (pass = 0; pass < 2 && !sym; pass++)
		for (i = 0; i < eh->e_shnum && !sym; i++)
			if (sh[i].sh_type == (pass ? SHT_DYNSYM : SHT_SYMTAB))
				sym = &sh[i];
	if (!sym || sym->sh_link >= eh->e_shnum)
		return false;
	str = &sh[sym->sh_link];
	if (sym->sh_offset % 8 ||
	    sym->sh_offset > f->size || sym->sh_size > f->size - sym->sh_offset ||
	    str->sh_offset > f->size || str->sh_size > f->size - str->sh_offset)
		return false;
	f->syms = f->map + sym->sh_offset;
	f->nsyms = sym->sh_size / sizeof(Elf64_Sym);
	f->strs = (const char *)f->map + str->sh_offset;
	f->strsize = str->sh_size;
	return true;
}

static struct grt__symfile *file_get(struct grt__symtab *st, int obj)
{
	struct grt__symfile *f;
	unsigned int i;
	long fd, size;
	void *map;

	for (i = 0; i < GRT_SYM_FILES; i++)
		if (st->f[i].obj == obj)
			return st->f[i].map ? &st->f[i] : NULL;
	f = &st->f[st->next];
	st->next = (st->next + 1) % GRT_SYM_FILES;
	file_unmap(f);
	/* Remember failures too (map NULL): one try per session. */
	f->obj = obj;
	fd = syscall(SYS_openat, AT_FDCWD, objs[obj].path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size = syscall(SYS_lseek, fd, 0L, SEEK_END);
	if (size <= 0) {
		syscall(SYS_close, fd);
		return NULL;
	}
	map = (void *)syscall(SYS_mmap, NULL, (size_t)size, PROT_READ,
			      MAP_PRIVATE, fd, 0L);
	syscall(SYS_close, fd);
	if (map == MAP_FAILED)
		return NULL;
	f->map = map;
	f->size = (size_t)size;
	if (!file_parse(f)) {
		syscall(SYS_munmap, f->map, f->size);
		f->map = NULL;
		return NULL;
	}
	return f;
}

/*
 * The function symbol containing rel (an address relative to the load
 * bias): the highest one starting at or below it, among those whose size
 * covers it or that have no size (assembly without .size).
 */
GRT_NO_ASAN static const Elf64_Sym *file_find(const struct grt__symfile *f,
					      uintptr_t rel)
{
	const Elf64_Sym *syms = f->syms, *best = NULL;
	size_t i;

	for (i = 0; i < f->nsyms; i++) {
		const Elf64_Sym *s = &syms[i];
		unsigned int type = ELF64_ST_TYPE(s->st_info);

		if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    s->st_shndx == SHN_UNDEF || s->st_value > rel ||
		    s->st_name >= f->strsize)
			continue;
		if (s->st_size && rel - s->st_value >= s->st_size)
			continue;
		if (!best || s->st_value > best->st_value ||
		    (s->st_value == best->st_value && s->st_size && !best->st_size))
			best = s;
	}
	return best;
}

/* Copied out here: the writer is instrumented, the mapping maybe poisoned. */
GRT_NO_ASAN static void w_name(struct grt__wbuf *w,
			       const struct grt__symfile *f, size_t off)
{
	char name[GRT_SYM_NAME + 1];
	size_t i;

	for (i = 0; i < GRT_SYM_NAME && off + i < f->strsize &&
		    f->strs[off + i]; i++)
		name[i] = f->strs[off + i];
	name[i] = '\0';
	grt__w_str(w, name);
}

/* "+0x1c"; nothing for the function's first byte (an entry point). */
static void w_off(struct grt__wbuf *w, uintptr_t off)
{
	if (off) {
		grt__w_str(w, "+");
		grt__w_hex(w, off);
	}
}

bool grt__w_sym(struct grt__wbuf *w, struct grt__symtab *st, uintptr_t addr,
		bool retaddr)
{
	uintptr_t look = retaddr && addr ? addr - 1 : addr;
	const struct grt__symfile *f;
	const Elf64_Sym *s;
	unsigned int i;

	for (i = 0; i < nobjs; i++) {
		if (look < objs[i].lo || look >= objs[i].hi)
			continue;
		f = file_get(st, (int)i);
		s = f ? file_find(f, look - objs[i].bias) : NULL;
		if (s) {
			w_name(w, f, s->st_name);
			w_off(w, addr - (objs[i].bias + s->st_value));
			return true;
		}
		if (i > 0) {
			/* A library without that symbol (a static function
			 * of a stripped one): where in which file. */
			const char *base = strrchr(objs[i].path, '/');

			grt__w_str(w, base ? base + 1 : objs[i].path);
			grt__w_str(w, "+");
			grt__w_hex(w, addr - objs[i].bias);
			return true;
		}
		break;
	}
	if (!st->sigsafe) {
		/* Objects loaded after the runtime started, stripped files. */
		Dl_info info;

		if (dladdr((void *)look, &info) && info.dli_sname &&
		    info.dli_saddr) {
			grt__w_strn(w, info.dli_sname, GRT_SYM_NAME);
			w_off(w, addr - (uintptr_t)info.dli_saddr);
			return true;
		}
	}
	return false;
}
