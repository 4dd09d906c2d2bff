# SPDX-License-Identifier: GPL-2.0
#
# selftests/: kselftest-harness programs, one per concern, each linked
# against libgwake and emitting KTAP.
#
#   make selftests          build $(O)/selftests/<name>_test (+ settings)
#   make run-selftests      build, then run them all natively with
#                           selftests/run_tests.sh $(O)/selftests
#
# Every selftests/*_test.c is a program (add a file, get a test); among
# them genl_test, the module's generic netlink family, which also runs
# gwakectl: TEST_FILES puts gwakectl next to the programs in the VM's
# /selftests, and natively genl_test finds it in $(O)/tools/.
# kselftest_harness.h and kselftest.h come from Debian's linux-source-6.1,
# extracted into $(CACHE) by tools/fetch-linux-source.sh, never committed.
#
# For the VM (selftests/vm/): build with STATIC=1 into its own O=, copy
# $(O)/selftests/ and selftests/run_tests.sh into the image, and run
#   run_tests.sh --no-skip <dir>
# there: a skipped test is a failure once the module is loaded.

SELFTESTS_DIR	:= $(O)/selftests
KSELFTEST_DIR	:= $(CACHE)/linux-source/tools/testing/selftests
KSELFTEST_HDRS	:= $(KSELFTEST_DIR)/kselftest_harness.h $(KSELFTEST_DIR)/kselftest.h

TEST_GEN_PROGS	:= $(patsubst selftests/%.c,$(SELFTESTS_DIR)/%,\
		     $(sort $(wildcard selftests/*_test.c)))
SELFTESTS_OBJS	:= $(addsuffix .o,$(TEST_GEN_PROGS))
TEST_FILES	+= $(GWAKECTL)

# The harness' headers are the kernel's, not ours: -isystem keeps our
# -Werror warnings for our code only. -Wno-missing-prototypes: the harness'
# FIXTURE_SETUP/FIXTURE_TEARDOWN define external functions without
# prototypes, which is how kernel selftests are written.
$(SELFTESTS_OBJS): override CPPFLAGS += -isystem $(KSELFTEST_DIR)
$(SELFTESTS_OBJS): override CFLAGS += -Wno-missing-prototypes
$(SELFTESTS_OBJS): selftests/gwake_test.h selftests/gwake_raw.h selftests/gwake_genl.h | $(KSELFTEST_HDRS)

$(KSELFTEST_HDRS):
	tools/fetch-linux-source.sh $(CACHE)

$(TEST_GEN_PROGS): $(SELFTESTS_DIR)/%: $(SELFTESTS_DIR)/%.o $(LIBGWAKE_A)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBGWAKE_A) $(LIBGWAKE_LDLIBS) $(LDLIBS) -pthread

# The per-program timeout travels with the binaries.
$(SELFTESTS_DIR)/settings: selftests/settings
	@mkdir -p $(@D)
	cp $< $@

.PHONY: selftests run-selftests
selftests: $(TEST_GEN_PROGS) $(SELFTESTS_DIR)/settings $(TEST_FILES)

run-selftests: selftests
	selftests/run_tests.sh $(SELFTESTS_DIR)
