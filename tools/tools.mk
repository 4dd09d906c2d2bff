# SPDX-License-Identifier: GPL-2.0
#
# tools/: gwake-bench, the benchmark suite (tools/bench/, one file per
# scenario, docs/benchmarks.md), and its Go peer (tools/go/, the same
# scenarios in Go, run side by side by the driver); single-file programs
# of the runtime (tools/examples/*.c, tools/rtbench/*.c), each built as
# $(O)/tools/<dir>/<name>.
#
#   make bench          install what is missing, build both, run the whole
#                       suite (under 3 minutes), write $(BENCH_OUT)/results.*
#                       and the server plot
#   make bench-quick    2 short repetitions of everything: a smoke test
#   make bench BENCH_FLAGS="-f handoff -r 9"   any gwake-bench options
#
# The Go peer is built with Debian's golang-go, standard library only:
# GOCACHE and GOPATH live in $(CACHE), GOPROXY=off and GOFLAGS=-mod=mod
# are not needed (no dependencies), so the build never touches the network.
# Without a `go` binary the suite still runs and prints its Go rows as n/a.

BENCH		:= $(O)/tools/gwake-bench
BENCH_GO	:= $(O)/tools/gwake-bench-go
BENCH_SRCS	:= $(sort $(wildcard tools/bench/*.c))
BENCH_OBJS	:= $(patsubst %.c,$(O)/%.o,$(BENCH_SRCS))
BENCH_GO_SRCS	:= tools/go/go.mod $(sort $(wildcard tools/go/*.go))
BENCH_FLAGS	?=
BENCH_OUT	?= $(O)/bench

TOOLS_PROGS	:= $(patsubst %.c,$(O)/%,$(sort $(wildcard tools/examples/*.c \
					 tools/rtbench/*.c)))

GO		?= go
HAVE_GO		:= $(shell command -v $(GO) 2>/dev/null)
GO_ENV		:= GOCACHE=$(CACHE)/go-build GOPATH=$(CACHE)/go GOPROXY=off \
		   GOFLAGS= GO111MODULE=on CGO_ENABLED=0

.PHONY: tools bench bench-quick bench-run
all: tools
tools: $(BENCH) $(if $(HAVE_GO),$(BENCH_GO)) $(TOOLS_PROGS)

$(BENCH): $(BENCH_OBJS) $(LIBGWAKE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(BENCH_OBJS) $(LIBGWAKE_A) \
		$(LIBGWAKE_LDLIBS) $(LDLIBS) -lm -pthread

# What the JSON report records of its own build (docs/benchmarks.md): the
# CFLAGS as a C string, for report.c only. Recursive, so it sees flags that
# fragments included later still add; make does not track flags, so a
# changed CFLAGS shows here after a rebuild (another O= tree, or clean).
BENCH_CFLAGS_STR = $(subst ','\'',$(subst ",\",$(subst \,\\,$(strip $(CFLAGS)))))
$(O)/tools/bench/report.o: override CPPFLAGS += -DBENCH_CFLAGS='"$(BENCH_CFLAGS_STR)"'

$(TOOLS_PROGS): $(O)/tools/%: $(O)/tools/%.o $(LIBGWAKE_A)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBGWAKE_A) $(LIBGWAKE_LDLIBS) \
		$(LDLIBS) -pthread

# The peer is a static, cgo-free binary: it runs wherever gwake-bench does
# (the VM included). go build decides itself what is stale.
$(BENCH_GO): $(BENCH_GO_SRCS)
	@mkdir -p $(@D)
	cd tools/go && $(GO_ENV) $(GO) build -trimpath -o $(abspath $@) .

# make install puts gwake-bench in $(BINDIR), and its Go peer beside it,
# where gwake-bench looks for it, when there is a Go to build it with.
.PHONY: install-bench uninstall-bench
install: install-bench
uninstall: uninstall-bench
install-bench: $(BENCH) $(if $(HAVE_GO),$(BENCH_GO)) | install-dirs
	install -m 755 $(BENCH) $(if $(HAVE_GO),$(BENCH_GO)) $(DESTDIR)$(BINDIR)/

uninstall-bench:
	rm -f $(DESTDIR)$(BINDIR)/gwake-bench $(DESTDIR)$(BINDIR)/gwake-bench-go

# make bench is the README's first command: on a fresh machine it installs
# what it lacks (golang-go for the Go rows, gnuplot for the plot), then
# builds in a sub-make, which sees the newly installed `go`.
bench:
	bash tools/install-deps.sh --if-missing
	$(MAKE) --no-print-directory bench-run

bench-quick:
	$(MAKE) --no-print-directory bench-run BENCH_FLAGS="--quick $(BENCH_FLAGS)"

# The report on stdout and in results.txt, every number in results.json
# (schema: docs/benchmarks.md) and results.tsv, and the server scenario's
# plot, server.png and server.svg, all in $(BENCH_OUT). gwake-bench's exit
# status survives the tee; a run without server rows (-f handoff) has no
# plot and says so.
bench-run: tools
	$(if $(HAVE_GO),,@echo "gwake-bench: no '$(GO)' (apt-get install golang-go): Go rows will be n/a" >&2)
	@mkdir -p $(BENCH_OUT)
	@{ $(BENCH) --json $(BENCH_OUT)/results.json --tsv $(BENCH_OUT)/results.tsv \
		$(BENCH_FLAGS); echo $$? > $(BENCH_OUT)/.rc; } | tee $(BENCH_OUT)/results.txt
	@rc=$$(cat $(BENCH_OUT)/.rc); rm -f $(BENCH_OUT)/.rc; [ "$$rc" = 0 ] || exit $$rc
	@tools/bench/plot.sh --if-any $(BENCH_OUT)/results.tsv $(BENCH_OUT)/server
	@echo "gwake-bench: $(BENCH_OUT)/results.txt results.json results.tsv server.png server.svg"

# The examples must keep compiling and running: make check runs each one
# (under ASan/UBSan there) and fails if any exits non-zero.
EXAMPLES	:= $(patsubst %.c,$(O)/%,$(sort $(wildcard tools/examples/*.c)))

.PHONY: examples-check
examples-check: $(EXAMPLES)
	@set -e; for e in $(EXAMPLES); do \
		echo "examples-check: $$e"; $$e > $$e.out; \
	done
